/** Cross-validation, the transfer-learning study, its tables, plots and overlays. */
export * from './plan';
export * from './runner';
export * from './report';
export * from './plots';
export * from './overlay';
export * from './study-report';
export * from './backends';
export * from './predict-items';
