/** What /.well-known/security.txt says (RFC 9116). */
export interface SecurityTxt {
  contact: string;
  policyUrl: string;
  expires: Date;
  canonicalUrl: string;
}

/** Without SECURITY_POLICY_URL, Policy is the responsible-disclosure policy, SECURITY.md at the repository root. */
export const DEFAULT_POLICY_URL = 'https://github.com/tenantmesh/tenantmesh/blob/main/SECURITY.md';

/** Without SECURITY_TXT_EXPIRES the file expires this long after startup: well inside RFC 9116's year. */
export const DEFAULT_EXPIRY_DAYS = 180;

export function securityTxtFrom(
  settings: { contact: string; policyUrl?: string | undefined; expires?: Date | undefined },
  publicOrigin: string,
  startedAt: Date = new Date(),
): SecurityTxt {
  return {
    contact: settings.contact,
    policyUrl: settings.policyUrl ?? DEFAULT_POLICY_URL,
    expires: settings.expires ?? new Date(startedAt.getTime() + DEFAULT_EXPIRY_DAYS * 86_400_000),
    canonicalUrl: `${publicOrigin}/.well-known/security.txt`,
  };
}

export function renderSecurityTxt(txt: SecurityTxt): string {
  // RFC 3339 without fractional seconds: what every security.txt parser expects.
  const expires = txt.expires.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [
    `Contact: ${txt.contact}`,
    `Expires: ${expires}`,
    `Policy: ${txt.policyUrl}`,
    'Preferred-Languages: en',
    `Canonical: ${txt.canonicalUrl}`,
    '',
  ].join('\n');
}
