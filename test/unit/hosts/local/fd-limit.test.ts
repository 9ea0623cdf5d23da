import { DESCRIPTORS_PER_PROBE, DESCRIPTOR_RESERVE, concurrencyWithin, openFileLimit } from "../../../../src/hosts/local/fd-limit";

describe("descriptor limit (issue 12 item 15)", () => {
  it("reads the soft limit from /proc/self/limits text; unlimited or absent is null", () => {
    const text =
      "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
    expect(openFileLimit(text)).toBe(1024);
    expect(openFileLimit(text.replace("1024 ", "unlimited"))).toBeNull();
    expect(openFileLimit("")).toBeNull();
  });

  it("clamps to the limit minus what is open and the reserve, never below 1, and only when it must", () => {
    expect(concurrencyWithin(1024, 5000, 1024, 20)).toEqual({
      concurrency: (1024 - 20 - DESCRIPTOR_RESERVE) / DESCRIPTORS_PER_PROBE,
      note: expect.stringMatching(/^--concurrency 1024 lowered to 494: the open-file limit is 1024/),
    });
    expect(concurrencyWithin(1024, 3, 1024, 20)).toEqual({ concurrency: 3, note: null });
    expect(concurrencyWithin(64, 100, 20, 30)).toMatchObject({ concurrency: 1 });
    expect(concurrencyWithin(64, 100, null, null)).toEqual({ concurrency: 64, note: null });
  });
});
