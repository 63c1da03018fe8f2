import { z } from 'zod';

const DAY_MS = 86_400_000;

/**
 * RFC 9116 fields of /.well-known/security.txt. Policy and Expires have defaults computed at
 * startup (see security-txt.ts), so a deployment only has to set what differs.
 */
export const securityTxtSettings = z
  .object({
    SECURITY_CONTACT: z
      .string()
      .regex(/^(mailto:|https:\/\/|tel:)\S+$/, 'must be a mailto:, https:// or tel: URI')
      .default('mailto:security@example.com'),
    SECURITY_POLICY_URL: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
      .optional(),
    // A stale security.txt tells researchers nobody reads it, and RFC 9116 asks for less than a
    // year ahead: refuse to start with either, rather than publish it.
    SECURITY_TXT_EXPIRES: z.iso
      .datetime({ offset: true })
      .or(z.iso.date())
      .refine((d) => new Date(d).getTime() > Date.now(), 'must be in the future')
      .refine((d) => new Date(d).getTime() < Date.now() + 365 * DAY_MS, 'must be less than a year ahead')
      .optional(),
  })
  .transform((e) => ({
    contact: e.SECURITY_CONTACT,
    policyUrl: e.SECURITY_POLICY_URL,
    expires: e.SECURITY_TXT_EXPIRES ? new Date(e.SECURITY_TXT_EXPIRES) : undefined,
  }));
