// Connects to Nexus with the official socket.io-client and prints one JSON line per event:
//   node listen.mjs <url> <token> [seconds]
// Lines: {"type":"connected"} | {"type":"connect_error","message":...} | {"type":"event","name":...,"data":...}
//        | {"type":"disconnect","reason":...}
import { io } from "socket.io-client";

const [url, token, seconds = "30"] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const socket = io(url, { auth: token ? { token } : {}, transports: ["websocket"], reconnection: false });
socket.on("connect", () => print({ type: "connected", id: socket.id }));
socket.on("connect_error", (error) => {
  print({ type: "connect_error", message: error.message, data: error.data ?? null });
  process.exit(0);
});
socket.onAny((name, data) => print({ type: "event", name, data }));
socket.on("disconnect", (reason) => print({ type: "disconnect", reason }));
setTimeout(() => {
  socket.close();
  process.exit(0);
}, Number(seconds) * 1000);
process.stdin.on("end", () => {
  socket.close();
  process.exit(0);
});
process.stdin.resume();
