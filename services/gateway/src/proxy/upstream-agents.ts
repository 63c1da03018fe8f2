import http from 'node:http';
import https from 'node:https';

export interface UpstreamAgents {
  forUrl(url: string): http.Agent;
  destroy(): void;
}

/**
 * Keep-alive connection pools to the upstreams: without them every proxied request pays a TCP
 * handshake (and http-proxy sends `Connection: close`). Node's agent also honours the upstream's
 * `Keep-Alive: timeout` hint, so it does not reuse a socket the upstream is about to close.
 */
export function createUpstreamAgents(): UpstreamAgents {
  const options = { keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' as const };
  const plain = new http.Agent(options);
  const tls = new https.Agent(options);
  return {
    forUrl: (url) => (url.startsWith('https:') ? tls : plain),
    destroy: () => {
      plain.destroy();
      tls.destroy();
    },
  };
}
