import type { Issuance } from "./inspection";

/**
 * The fixes core/assess.ts gives for gnome-remote-desktop (issue 24): g-r-d loads its pair
 * once, so every change ends with a restart of its unit (the user's, or the system one in
 * 46+'s system mode). `rotate` makes a self-signed pair; `deploy` puts a CA-issued one in place the same way.
 */
export const GRD_FIXES = {
  replace: (issuance: Issuance): string =>
    issuance !== "ca-issued"
      ? "sudo rdpcert rotate --backend gnome-remote-desktop --yes (add --grd-user NAME for a user's session): a new self-signed pair beside the old one, g-r-d pointed at it and restarted, verified on the wire; rdpcert run (the schedule: rdpcert task install) does this before it expires"
      : "renew it with the issuing CA, then sudo rdpcert deploy --backend gnome-remote-desktop --cert CERT.pem --key KEY.pem --chain CHAIN.pem --yes (add --grd-user NAME for a user's session; certbot: --from-certbot): the pair is written beside the old one, g-r-d pointed at it and restarted, verified on the wire (rdpcert never deletes a CA-issued certificate)",
  down: "start gnome-remote-desktop (system mode: systemctl start gnome-remote-desktop; user mode: systemctl --user start gnome-remote-desktop in the user's session; see its journal) and check the firewall for the listener port",
  unusable:
    "gnome-remote-desktop cannot use its pair: make the key readable by the user it runs as (gnome-remote-desktop in system mode, the session's user in user mode), check that key and certificate belong together, then restart it",
  mismatch: (port: number): string =>
    `the listener on port ${port} does not present the configured certificate: gnome-remote-desktop reads its pair only when it starts, so restart it (systemctl restart gnome-remote-desktop, or systemctl --user restart gnome-remote-desktop as the user); or another process listens there (ss -ltnp 'sport = :${port}')`,
} as const;
