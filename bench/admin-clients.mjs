// bench:admin's admin clients (plain JavaScript, no loader needed): `clients` signed-in tablets
// calling the admin API back to back, revalidating replies that carry an ETag with If-None-Match
// as browsers do. Run as a child process (the default: tablets are other
// devices, so the load's own CPU work is not in the daemon's process) or as a worker thread.
// Messages: in {start: {base, cookie, clients, routes}}, 'shopping over', 'stop'; out the tally
// (latencies, statuses, seconds, latencies by route, and the clients' own CPU ms).
import { parentPort } from 'node:worker_threads';

// as a child process the tally (tens of thousands of latencies) may take several writes: the
// channel is closed only once it is all sent, or the parent would wait for it forever
const port = parentPort ?? {
  on: (event, listener) => process.on(event, listener),
  postMessage: (m) => process.send(m, () => process.disconnect()),
};

let running = true;
let counting = true;
let loops = [];
const latencies = [];
/** The same latencies by route, to tell which one costs. */
const byRoute = {};
const statuses = {};
let t0 = 0;
let t1 = 0;

let cpu0;

function start({ base, cookie, clients, routes }) {
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  loops = Array.from({ length: clients }, async (_, c) => {
    // as a browser does: a reply that came with an ETag is revalidated with If-None-Match (a 304
    // while it has not changed)
    const etags = new Map();
    for (let i = c; running; i++) {
      const begun = performance.now();
      const route = routes[i % routes.length];
      try {
        const etag = etags.get(route);
        const res = await fetch(base + route.slice(1), { headers: etag ? { cookie, 'if-none-match': etag } : { cookie } });
        await res.arrayBuffer();
        if (res.status === 200) {
          const tag = res.headers.get('etag');
          if (tag) etags.set(route, tag);
          else etags.delete(route);
        }
        if (counting) statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      } catch {
        if (counting) statuses.error = (statuses.error ?? 0) + 1;
        // a refused connection fails without a turn of the event loop: without a pause the
        // loop would spin and never see the 'stop' message
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (counting) {
        const took = performance.now() - begun;
        latencies.push(took);
        (byRoute[route] ??= []).push(took);
      }
    }
  });
}

port.on('message', async (m) => {
  if (m && typeof m === 'object' && m.start) start(m.start);
  // after the last receipt the runner stops the daemon: requests then in flight fail by design
  if (m === 'shopping over' && counting) {
    counting = false;
    t1 = performance.now();
  }
  if (m === 'stop') {
    running = false;
    await Promise.all(loops);
    // the clients' own CPU (as a child process: theirs alone; as a worker: the whole process's)
    const cpu = process.cpuUsage(cpu0);
    port.postMessage({ latencies, statuses, seconds: ((t1 || performance.now()) - t0) / 1000, byRoute, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});
