import { configDefaults, defaultLogDir, defaultStateDir } from "../../../src/core/config-defaults";
import { configSchema, isAbsolutePath } from "../../../src/core/config";
import { currentPlatform, defaultPaths, isAbsolutePathOn, isLinux, isWindows, osFamily } from "../../../src/core/platform";

/** The platform facade's per-OS values, asked for both OSes from plain inputs (src/core/platform.ts). */
describe("the platform facade", () => {
  it("names this host's platform as Node does", () => {
    expect(currentPlatform()).toBe(process.platform);
  });

  it("sorts platforms into Windows and POSIX; Linux alone has /proc", () => {
    expect(osFamily("win32")).toBe("windows");
    expect(["linux", "darwin", "freebsd", "openbsd", "sunos", "aix"].map((p) => osFamily(p as NodeJS.Platform))).toEqual(Array(6).fill("posix"));
    expect([isWindows("win32"), isWindows("linux"), isWindows("darwin")]).toEqual([true, false, false]);
    expect([isLinux("linux"), isLinux("freebsd"), isLinux("win32")]).toEqual([true, false, false]);
  });

  describe("default paths", () => {
    it("Windows: everything under %ProgramData%\\rdpcert", () => {
      expect(defaultPaths("win32", { ProgramData: "D:\\Data" })).toEqual({
        configFile: "D:\\Data\\rdpcert\\config.json",
        stateDir: "D:\\Data\\rdpcert",
        logDir: "D:\\Data\\rdpcert\\logs",
      });
    });

    it("Windows without ProgramData: C:\\ProgramData", () => {
      expect(defaultPaths("win32", {})).toEqual({
        configFile: "C:\\ProgramData\\rdpcert\\config.json",
        stateDir: "C:\\ProgramData\\rdpcert",
        logDir: "C:\\ProgramData\\rdpcert\\logs",
      });
    });

    it("POSIX: the FHS places, whatever ProgramData says", () => {
      const fhs = { configFile: "/etc/rdpcert/config.json", stateDir: "/var/lib/rdpcert", logDir: "/var/log/rdpcert" };
      expect(defaultPaths("linux", { ProgramData: "D:\\Data" })).toEqual(fhs);
      expect(defaultPaths("freebsd", {})).toEqual(fhs);
    });

    it("this host's defaults are the facade's: the config defaults and the schema's", () => {
      const here = defaultPaths(currentPlatform(), process.env);
      expect(defaultPaths()).toEqual(here);
      expect([defaultStateDir(), defaultLogDir()]).toEqual([here.stateDir, here.logDir]);
      expect([configDefaults().stateDir, configDefaults().logDir]).toEqual([here.stateDir, here.logDir]);
      const parsed = configSchema.parse({});
      expect([parsed.stateDir, parsed.logDir]).toEqual([here.stateDir, here.logDir]);
    });
  });

  describe("absolute paths", () => {
    it("Windows: a drive with a separator, a UNC path or a root-relative path", () => {
      expect(["C:\\x", "c:/x", "\\\\server\\share\\x", "\\x", "/x"].every((p) => isAbsolutePathOn("win32", p))).toBe(true);
      expect(["C:x", "x", ".\\x", "..\\x", "", "~/x"].some((p) => isAbsolutePathOn("win32", p))).toBe(false);
    });

    it("POSIX: a leading slash only", () => {
      expect(["/", "/etc/x", "//x"].every((p) => isAbsolutePathOn("linux", p))).toBe(true);
      expect(["C:\\x", "\\x", "x", "./x", ""].some((p) => isAbsolutePathOn("darwin", p))).toBe(false);
    });

    it("the config's rule is this host's", () => {
      for (const value of ["/x", "C:\\x", "\\x", "x"]) expect(isAbsolutePath(value)).toBe(isAbsolutePathOn(currentPlatform(), value));
    });
  });
});
