// The raw Node server: node:net written plainly, as a user would. Every
// chunk of `--proto echo` goes straight back; `line` and `lp` frames are cut
// by hand (framer.mjs) and each is written back. A full send buffer pauses
// reading until it drains.
//   node bench/servers/node/raw.mjs --proto line --port 0
import net from "node:net";
import { exitOnSignals, formatNetAddress, parseServerArgs } from "./args.mjs";
import { makeFramer } from "./framer.mjs";

const args = parseServerArgs();

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  socket.on("drain", () => socket.resume());
  const push = args.proto === "echo" ? (chunk) => [chunk] : makeFramer(args.proto);
  socket.on("data", (chunk) => {
    let frames;
    try {
      frames = push(chunk);
    } catch {
      socket.destroy(); // a frame over the maximum
      return;
    }
    for (const frame of frames) {
      if (!socket.write(frame)) socket.pause();
    }
  });
});
server.listen(args.listen, () => {
  console.log(`listening on ${formatNetAddress(server.address())}`);
});
exitOnSignals();
