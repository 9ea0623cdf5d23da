import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A two-level test CA made with the real openssl in the test (root ->
 * intermediate -> leaf), as an enterprise CA or an ACME CA issues. `faketime`
 * (installed by the pretest) back-dates a leaf to make an expired one.
 */
export interface TestCa {
  readonly dir: string;
  readonly rootPem: string;
  readonly intermediatePem: string;
  issue(name: string, options?: LeafOptions): Leaf;
}

export interface LeafOptions {
  /** subjectAltName entries, e.g. ["DNS:rdp.example.test", "IP:127.0.0.1"]. */
  readonly names?: readonly string[];
  /** extendedKeyUsage; null: no EKU extension. */
  readonly eku?: string | null;
  /** keyUsage bits (openssl names); null: no KeyUsage extension. Default: digitalSignature,keyEncipherment. */
  readonly keyUsage?: string | null;
  readonly key?: "rsa2048" | "rsa1024" | "ec256";
  readonly days?: number;
  /** Issue as if the clock said this (faketime), e.g. "2020-01-01 00:00:00" for an expired leaf. */
  readonly at?: string;
  /** Sign with the root directly (no intermediate). */
  readonly byRoot?: boolean;
}

export interface Leaf {
  readonly certPath: string;
  readonly keyPath: string;
  /** Leaf then intermediate, as certbot's fullchain.pem. */
  readonly fullchainPath: string;
  /** The intermediate alone, as certbot's chain.pem. */
  readonly chainPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const openssl = (args: readonly string[], options: { at?: string; cwd: string }): void => {
  const [file, argv] = options.at ? ["faketime", [options.at, "openssl", ...args]] : ["openssl", [...args]];
  execFileSync(file, argv, { cwd: options.cwd, stdio: ["ignore", "ignore", "pipe"] });
};

function keygen(path: string, kind: LeafOptions["key"], cwd: string): void {
  if (kind === "ec256") openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path], { cwd });
  else openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${kind === "rsa1024" ? 1024 : 2048}`, "-out", path], { cwd });
}

export function makeTestCa(dir: string, name = "rdpcert Test"): TestCa {
  mkdirSync(dir, { recursive: true });
  keygen("root.key", "rsa2048", dir);
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      "root.key",
      "-subj",
      `/CN=${name} Root CA`,
      "-days",
      "3650",
      "-out",
      "root.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    { cwd: dir },
  );
  keygen("int.key", "rsa2048", dir);
  openssl(["req", "-new", "-key", "int.key", "-subj", `/CN=${name} Intermediate CA`, "-out", "int.csr"], { cwd: dir });
  writeFileSync(
    join(dir, "int.ext"),
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
  );
  openssl(
    ["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "1825", "-extfile", "int.ext", "-out", "int.pem"],
    { cwd: dir },
  );
  let serial = 0;
  return {
    dir,
    rootPem: readFileSync(join(dir, "root.pem"), "utf8"),
    intermediatePem: readFileSync(join(dir, "int.pem"), "utf8"),
    issue(leafName, options = {}) {
      const id = `${leafName.replace(/[^A-Za-z0-9]/g, "_")}-${++serial}`;
      const names = options.names ?? [`DNS:${leafName}`];
      keygen(`${id}.key`, options.key ?? "rsa2048", dir);
      openssl(["req", "-new", "-key", `${id}.key`, "-subj", `/CN=${leafName}`, "-out", `${id}.csr`], { cwd: dir });
      const eku = options.eku === undefined ? "serverAuth" : options.eku;
      const ext = [
        `subjectAltName=${names.join(",")}`,
        "basicConstraints=CA:FALSE",
        ...(options.keyUsage === null ? [] : [`keyUsage=critical,${options.keyUsage ?? "digitalSignature,keyEncipherment"}`]),
        ...(eku ? [`extendedKeyUsage=${eku}`] : []),
        "authorityKeyIdentifier=keyid",
      ];
      writeFileSync(join(dir, `${id}.ext`), `${ext.join("\n")}\n`);
      const [ca, caKey] = options.byRoot ? ["root.pem", "root.key"] : ["int.pem", "int.key"];
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${id}.csr`,
          "-CA",
          ca,
          "-CAkey",
          caKey,
          "-CAcreateserial",
          "-days",
          String(options.days ?? 90),
          "-extfile",
          `${id}.ext`,
          "-out",
          `${id}.pem`,
        ],
        { cwd: dir, ...(options.at ? { at: options.at } : {}) },
      );
      const certPem = readFileSync(join(dir, `${id}.pem`), "utf8");
      const keyPem = readFileSync(join(dir, `${id}.key`), "utf8");
      const fullchainPath = join(dir, `${id}.fullchain.pem`);
      writeFileSync(fullchainPath, certPem + (options.byRoot ? "" : readFileSync(join(dir, "int.pem"), "utf8")));
      return { certPath: join(dir, `${id}.pem`), keyPath: join(dir, `${id}.key`), fullchainPath, chainPath: join(dir, "int.pem"), certPem, keyPem };
    },
  };
}

/** SHA-1 fingerprint of a PEM certificate as openssl prints it, in the Windows thumbprint form. */
export function opensslThumbprint(certPath: string): string {
  const out = execFileSync("openssl", ["x509", "-in", certPath, "-noout", "-fingerprint", "-sha1"], { encoding: "utf8" });
  return out.trim().replace(/^.*=/, "").replace(/:/g, "").toUpperCase();
}
