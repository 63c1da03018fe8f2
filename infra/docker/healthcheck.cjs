// The image's HEALTHCHECK: GET http://127.0.0.1:$PORT/healthz, exit 0 on a 200, 1 otherwise.
// The slim base image has no curl or wget; node is already there. `healthcheck.cjs /readyz` checks
// readiness instead (docker-compose.yml orders start-up by it). Any other argument is refused.
const http = require('node:http');

const path = process.argv[2] ?? '/healthz';
if (path !== '/healthz' && path !== '/readyz') {
  process.stderr.write(`healthcheck: expected /healthz or /readyz, got ${path}\n`);
  process.exit(2);
}
// biome-ignore lint/suspicious/noUndeclaredEnvVars: the container's own PORT (set in the image), not a build input
const port = Number(process.env.PORT) || 3000;
const request = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));
