/**
 * Masks secrets in text meant for logs and messages: SAS signatures (`sig=…`), account keys and
 * passwords in connection strings and URLs. The explicit "copy" action is the only way to the real value.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(/([?&;]sig=)[^&\s'";]+/gi, '$1…')
    .replace(/((?:AccountKey|SharedAccessSignature|Password|pwd)=)[^;\s'"]+/gi, '$1…')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s/]+@/gi, '$1…@');
}
