// The built web client's directory, for the gateway to serve (`pnpm build` makes it).
const path = require('node:path');

module.exports = { WEB_ROOT: path.join(__dirname, 'dist') };
