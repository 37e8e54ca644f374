// Bytes, base64, base58 and the numbers a person reads. No dependency: the page has no other
// use for @solana/web3.js, and these few functions are all it needs.

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58 (Bitcoin alphabet), as Solana prints addresses and signatures. */
export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // Repeated division of the big-endian number by 58, digits least significant first.
  const digits: number[] = [];
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i]!;
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j]! << 8;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '1'.repeat(zeros);
  for (let i = digits.length - 1; i >= 0; i--) out += BASE58_ALPHABET[digits[i]!];
  return out;
}

export function bytesFromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function base64FromBytes(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** `AbCd…WxYz`: the first 4 and last 4 characters of an address. */
export function shortAddress(address: string): string {
  return address.length <= 10 ? address : `${address.slice(0, 4)}…${address.slice(-4)}`;
}

/** An integer amount of base units as a decimal string: `formatUnits(1500000000, 9)` is `1.5`. */
export function formatUnits(value: number | bigint, decimals: number): string {
  const units = BigInt(value);
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const whole = (abs / scale).toLocaleString('en-US');
  const fraction = decimals > 0 ? (abs % scale).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Base units as the plain decimal the Actions endpoints parse (no grouping): `1234.5`. */
export function plainUnits(value: number | bigint, decimals: number): string {
  return formatUnits(value, decimals).replace(/,/g, '');
}

/** The decimal a person typed, as base units; `null` when it is not a non-negative amount with at most `decimals` places. */
export function parseUnits(text: string, decimals: number): bigint | null {
  const match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(text.replace(/,/g, ''));
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) return null;
  return BigInt(match[1] || '0') * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
}

/** Lamports as SOL, e.g. `2.5 SOL`. */
export function formatSol(lamports: number): string {
  return `${formatUnits(lamports, 9)} SOL`;
}

/** An amount in a currency's minor units (cents for USD), e.g. `$12.34`. */
export function formatMinorUnits(amount: number, currency: string, digits: number): string {
  try {
    const format = new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    return format.format(Number(formatUnits(amount, digits).replace(/,/g, '')));
  } catch {
    return `${amount} (minor units of ${currency})`;
  }
}

/** A unix time in seconds as local date and time. */
export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString();
}
