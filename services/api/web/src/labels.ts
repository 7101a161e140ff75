/** Short labels of the reports' ISO times (UTC, as the API gives them). */
export function monthLabel(iso: string): string {
  return iso.slice(0, 7);
}

export function hourLabel(iso: string): string {
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}
