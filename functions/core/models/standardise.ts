/**
 * Standardisation: each feature centred on its mean and divided by its standard deviation, as
 * fitted on the training rows; a constant feature keeps a scale of 1 (it standardises to 0 and
 * so contributes nothing). Coefficients on standardised features are comparable with one
 * another, which is what makes them read as importances. Pure.
 */
export interface Scaler {
  means: number[];
  scales: number[];
}

export const fitScaler = (rows: readonly ArrayLike<number>[]): Scaler => {
  const p = rows[0]?.length ?? 0;
  const means = new Array<number>(p).fill(0);
  const squares = new Array<number>(p).fill(0);
  for (const row of rows) for (let j = 0; j < p; j++) means[j] = (means[j] as number) + (row[j] as number);
  for (let j = 0; j < p; j++) means[j] = (means[j] as number) / Math.max(rows.length, 1);
  for (const row of rows)
    for (let j = 0; j < p; j++)
      squares[j] = (squares[j] as number) + ((row[j] as number) - (means[j] as number)) ** 2;
  const scales = squares.map((s) => {
    const sd = Math.sqrt(s / Math.max(rows.length - 1, 1));
    return sd > 1e-12 ? sd : 1;
  });
  return { means, scales };
};

export const standardise = (scaler: Scaler, row: ArrayLike<number>): number[] =>
  Array.from(
    { length: row.length },
    (_, j) => ((row[j] as number) - (scaler.means[j] as number)) / (scaler.scales[j] as number),
  );

/**
 * Coefficients on standardised features → on the raw features: βⱼ/sⱼ, and the intercept less
 * Σ βⱼ·mⱼ/sⱼ. Standard errors scale the same way (the intercept's is left out: it depends on the
 * covariances, which the fit keeps no further).
 */
export const rawCoefficients = (scaler: Scaler, coefficients: readonly number[]): number[] => {
  const out = coefficients.map((b, k) => (k === 0 ? b : b / (scaler.scales[k - 1] as number)));
  for (let k = 1; k < out.length; k++)
    out[0] = (out[0] as number) - (out[k] as number) * (scaler.means[k - 1] as number);
  return out;
};
