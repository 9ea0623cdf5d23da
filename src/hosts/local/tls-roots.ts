import { rootCertificates } from "node:tls";

/** The CA certificates Node ships (Mozilla's list): what a deploy checks a supplied chain against. */
export const bundledRootCertificates: readonly string[] = rootCertificates;
