/** `lmk review`: the predictions of an output folder on a local web page, worst first; corrections kept and exported as training data. */
export { ReviewStore, ReviewError, REVIEWED_FILE, predictionsFileOf } from './journal';
export type { ReviewItem, ReviewedLine } from './journal';
export { ReviewList, ORDERS, STATUSES } from './list';
export type { ListQuery, ListRow, ListPage, Order, Status } from './list';
export { PreviewCache, CACHE_DIR, PREVIEW_SIDE } from './preview';
export type { PreviewKind } from './preview';
export { startReviewServer, PAGE_DIR } from './server';
export type { ReviewServer, ReviewServerOptions } from './server';
export { exportReviewed } from './export';
export type { ExportResult } from './export';
