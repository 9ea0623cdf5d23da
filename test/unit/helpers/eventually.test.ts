import { createServer } from "node:net";
import { freePort } from "../../../scripts/xrdp-server";
import { GaveUp, eventually, httpGet } from "../../helpers/prometheus";

/** The polling helper of the Prometheus tests retries a server that is not up yet, and nothing else (issue 21: it swallowed every error). */
describe("eventually", () => {
  it("retries a refused connection until the server is up, then returns the check's value", async () => {
    const port = await freePort();
    let tries = 0;
    const server = createServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nup"));
    try {
      const body = await eventually(async () => {
        if (++tries === 3) server.listen(port, "127.0.0.1");
        return (await httpGet(`http://127.0.0.1:${port}/`)).body;
      }, 20);
      expect(body).toBe("up");
      expect(tries).toBeGreaterThanOrEqual(3);
    } finally {
      server.close();
    }
  });

  it("fails at once with the check's own error when it is not a connection refused or reset", async () => {
    let tries = 0;
    await expect(
      eventually(async () => {
        tries++;
        return JSON.parse("<html>not ready</html>") as unknown;
      }, 20),
    ).rejects.toThrow(SyntaxError);
    expect(tries).toBe(1);
    await expect(eventually(async () => Promise.reject(new GaveUp("prometheus exited with 1")), 20)).rejects.toThrow("prometheus exited with 1");
  });
});
