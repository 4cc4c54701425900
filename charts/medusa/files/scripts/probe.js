// Network probes for setup.sh and the helm tests, with Node's standard library only (the
// official node image has no curl). One attempt each; the callers loop until their deadline.
//   node probe.js tcp HOST PORT                -> exit 0 when a TCP connection opens
//   node probe.js http URL [HEADER: VALUE]...  -> prints the HTTP status code (000 = no answer)
const net = require("net")

const [mode, ...args] = process.argv.slice(2)
const TIMEOUT_MS = 10000

if (mode === "tcp") {
  const socket = net.connect({ host: args[0], port: Number(args[1]) })
  socket.setTimeout(TIMEOUT_MS)
  socket.on("connect", () => {
    socket.destroy()
    process.exit(0)
  })
  socket.on("timeout", () => process.exit(1))
  socket.on("error", () => process.exit(1))
} else if (mode === "http") {
  // http.request, not fetch: fetch drops a Host header, and the checks need the store's host.
  const url = new URL(args[0])
  const headers = {}
  for (const header of args.slice(1)) {
    const at = header.indexOf(":")
    headers[header.slice(0, at).trim()] = header.slice(at + 1).trim()
  }
  const client = url.protocol === "https:" ? require("https") : require("http")
  const request = client.get(url, { headers, timeout: TIMEOUT_MS }, (response) => {
    response.resume()
    process.stdout.write(`${response.statusCode}\n`)
    process.exit(0)
  })
  request.on("timeout", () => request.destroy(new Error("timeout")))
  request.on("error", () => {
    process.stdout.write("000\n")
    process.exit(1)
  })
} else {
  process.stderr.write("usage: probe.js tcp HOST PORT | probe.js http URL [HEADER: VALUE]...\n")
  process.exit(2)
}
