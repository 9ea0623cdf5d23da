import { repointIni } from "../../../../src/hosts/xrdp/xrdp-rotation";

describe("repointIni", () => {
  it("changes only the values of certificate= and key_file= in [Globals]", () => {
    const text = "[Globals]\r\n; keep me\r\ncertificate = /etc/xrdp/cert.pem\r\nkey_file=\r\nport=3389\r\n[Xorg]\r\ncertificate=untouched\r\n";
    expect(repointIni(text, "/etc/xrdp/rdpcert/cert.pem", "/etc/xrdp/rdpcert/key.pem")).toBe(
      "[Globals]\r\n; keep me\r\ncertificate = /etc/xrdp/rdpcert/cert.pem\r\nkey_file=/etc/xrdp/rdpcert/key.pem\r\nport=3389\r\n[Xorg]\r\ncertificate=untouched\r\n",
    );
  });

  it("edits the occurrence xrdp uses (the last) and adds missing names after the header, in the file's line ending", () => {
    const text = "# top\n[globals]\ncertificate=/a\ncertificate=/b\nport=3389\n";
    expect(repointIni(text, "/new/cert.pem", "/new/key.pem")).toBe(
      "# top\n[globals]\nkey_file=/new/key.pem\ncertificate=/a\ncertificate=/new/cert.pem\nport=3389\n",
    );
  });

  it("refuses an ini without [Globals]", () => {
    expect(() => repointIni("[Logging]\n", "/c", "/k")).toThrow(/no \[Globals\] section/);
  });
});
