import { Injectable, Input } from "@angular/core";
import type { Item, Store } from "./store";

export interface CartLine<T extends Item> {
  item: T;
  quantity: number;
  subtotal(taxRate?: number): number;
}

/**
 * A shopping cart that keeps its lines in the store.
 */
@Injectable({ providedIn: "root" })
export class Cart<T extends Item> {
  private lines: CartLine<T>[] = [];

  constructor(private readonly store: Store, public currency = "EUR") {}

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  @Input()
  add(item: T, quantity = 1, ...notes: string[]): CartLine<T> {
    if (quantity <= 0) {
      throw new RangeError(`quantity must be positive, got ${quantity}`);
    }
    const line = { item, quantity, subtotal: (rate = 0) => item.price * quantity * (1 + rate) };
    this.lines.push(line);
    this.store.save(this.lines);
    return line;
  }

  get size(): number {
    return this.lines.length;
  }

  clear(): void {
    this.lines = [];
  }

  readonly total = (taxRate: number = 0.2): number =>
    this.lines.reduce((sum, line) => sum + line.subtotal(taxRate), 0);
}

export function parseQuantity(text: string): number;
export function parseQuantity(text: string, radix: number): number;
export function parseQuantity(text: string, radix = 10): number {
  const value = Number.parseInt(text, radix);
  if (Number.isNaN(value)) {
    throw new TypeError(`not a number: ${text}`);
  }
  return value;
}

export const formatPrice = async (amount: number, { currency = "EUR" }: { currency?: string } = {}): Promise<string> =>
  new Intl.NumberFormat("en", { style: "currency", currency }).format(amount);

export abstract class PriceRule {
  abstract apply(amount: number): number;
}

function* batches<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) {
    yield items.slice(i, i + size);
  }
}
