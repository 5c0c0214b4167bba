import type { ReviewItem, ReviewStore } from './journal';

/**
 * The page's list: the images in an order, filtered, one page at a time. Orders depend only on the
 * predictions, so each is sorted once and kept; the status filter is applied per request (reviews change it).
 */

export const ORDERS = ['worst', 'mean', 'name'] as const;
export type Order = (typeof ORDERS)[number];
export const STATUSES = ['all', 'todo', 'accepted', 'corrected'] as const;
export type Status = (typeof STATUSES)[number];

export interface ListQuery {
  order: Order;
  /** Rank by this landmark alone (0-based); undefined: by the image's worst. */
  landmark?: number;
  status: Status;
  offset: number;
  limit: number;
  /** Instead of `offset`: the page that holds this image (index). */
  find?: number;
}

export interface ListRow {
  index: number;
  id: string;
  path: string;
  /** The score the order ranks by. */
  score: number;
  replaced: boolean;
  accepted: boolean;
  corrected: boolean;
}

export interface ListPage {
  /** Images that pass the filter. */
  total: number;
  offset: number;
  rows: ListRow[];
}

const byKey = (a: ReviewItem, b: ReviewItem) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function rankScore(item: ReviewItem, order: Order, landmark: number | undefined): number {
  if (landmark !== undefined) return item.scores[landmark];
  return order === 'mean' ? item.meanScore : item.minScore;
}

const wasReplaced = (item: ReviewItem, landmark: number | undefined) => (landmark === undefined ? item.replaced.length > 0 : item.replaced.includes(landmark));

export class ReviewList {
  private sorted = new Map<string, ReviewItem[]>();

  constructor(private readonly store: ReviewStore) {}

  private order(order: Order, landmark: number | undefined): ReviewItem[] {
    const cacheKey = `${order}/${landmark ?? ''}`;
    let items = this.sorted.get(cacheKey);
    if (!items) {
      items = [...this.store.items];
      if (order === 'name') items.sort(byKey);
      else {
        // Worst first: the shape check's replacements (the model contradicted its own shape), then the lowest score.
        const replacedFirst = order === 'worst';
        items.sort((a, b) => (replacedFirst ? Number(wasReplaced(b, landmark)) - Number(wasReplaced(a, landmark)) : 0)
          || rankScore(a, order, landmark) - rankScore(b, order, landmark) || byKey(a, b));
      }
      this.sorted.set(cacheKey, items);
    }
    return items;
  }

  private passes(item: ReviewItem, status: Status): boolean {
    if (status === 'all') return true;
    const r = this.store.reviewed.get(item.index);
    if (status === 'todo') return !r?.accepted;
    if (status === 'accepted') return r?.accepted === true;
    return (r?.moved.length ?? 0) > 0;
  }

  page(q: ListQuery): ListPage {
    const items = this.order(q.order, q.landmark);
    const passing = q.status === 'all' ? items : items.filter((item) => this.passes(item, q.status));
    let offset = q.offset;
    if (q.find !== undefined) {
      const at = passing.findIndex((item) => item.index === q.find);
      if (at >= 0) offset = at - (at % q.limit);
    }
    const lastPage = passing.length === 0 ? 0 : Math.floor((passing.length - 1) / q.limit) * q.limit;
    offset = Math.max(0, Math.min(offset, lastPage));
    const rows = passing.slice(offset, offset + q.limit).map((item): ListRow => {
      const r = this.store.reviewed.get(item.index);
      return {
        index: item.index, id: item.id, path: item.key, score: rankScore(item, q.order, q.landmark),
        replaced: wasReplaced(item, q.landmark), accepted: r?.accepted === true, corrected: (r?.moved.length ?? 0) > 0,
      };
    });
    return { total: passing.length, offset, rows };
  }
}
