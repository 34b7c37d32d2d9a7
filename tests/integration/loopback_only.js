// Preloaded into kinesis-local (`node --require`): its listen host is hard-coded to 0.0.0.0,
// so every server it opens is bound to 127.0.0.1 instead. Nothing else is changed.
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const loopback = "127.0.0.1";
  if (args.length > 0 && typeof args[0] === "object" && args[0] !== null) {
    args[0] = Object.assign({}, args[0], { host: loopback });
  } else if (typeof args[0] === "number" || typeof args[0] === "string") {
    if (typeof args[1] === "string" || args[1] === undefined || args[1] === null) {
      args[1] = loopback;
    } else {
      args.splice(1, 0, loopback);
    }
  }
  return listen.apply(this, args);
};
