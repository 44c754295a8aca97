// Preloaded into third-party test servers (node --import, bun --preload) so they bind 127.0.0.1 only, whatever they ask for.
import http from 'node:http';
import net from 'node:net';

function patch(proto) {
  const listen = proto.listen;
  proto.listen = function (...args) {
    if (typeof args[0] === 'number' || typeof args[0] === 'string') {
      const port = Number(args[0]);
      const rest = args.slice(1).filter((a) => typeof a === 'function');
      return listen.call(this, port, '127.0.0.1', ...rest);
    }
    if (args[0] && typeof args[0] === 'object' && !Array.isArray(args[0])) args[0] = { ...args[0], host: '127.0.0.1' };
    return listen.apply(this, args);
  };
}
patch(net.Server.prototype);
// Under Bun, http.Server has its own listen rather than net.Server's (Node inherits it: patched above).
if (Object.hasOwn(http.Server.prototype, 'listen')) patch(http.Server.prototype);
