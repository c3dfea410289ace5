/**
 * A TCP proxy in front of a real server that can take the server "away" without touching it:
 * in `down` mode it resets every open and new connection, as a crashed or unreachable peer would.
 * Used to test the sinks' retry and dead-letter paths against real ClickHouse / Redis.
 */
import net from 'node:net';

export interface FaultProxy {
  readonly port: number;
  /** Connections accepted so far (both modes). */
  readonly connections: number;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetHost: string, targetPort: number): Promise<FaultProxy> {
  let down = false;
  let connections = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    setDown(value: boolean) {
      down = value;
      if (down) for (const s of open) s.resetAndDestroy();
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
