// A real upstream in its own process, so a test can SIGKILL it mid-stream. Streams `chunks` SSE events
// `chunkDelayMs` apart (from the JSON body, defaults 20 x 100 ms) and prints "port N" when listening.
import http from 'node:http';

const name = process.argv[2] ?? 'replica';
const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    let spec = {};
    try {
      spec = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      spec = {};
    }
    const chunks = spec.chunks ?? 20;
    const delayMs = spec.chunkDelayMs ?? 100;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-llmbench-replica': name });
    res.flushHeaders();
    let i = 0;
    const timer = setInterval(() => {
      if (i >= chunks) {
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.write(`data: ${JSON.stringify({ i, replica: name })}\n\n`);
      i += 1;
    }, delayMs);
    res.on('close', () => clearInterval(timer));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
