/**
 * L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least
 * squares), on standardised features. Pure; the linear algebra is ml-matrix's (the Hessian is
 * solved by its Cholesky decomposition, and inverted for the standard errors).
 *
 * Minimises  −Σ [yᵢ log pᵢ + (1 − yᵢ) log(1 − pᵢ)] + (λ/2)·‖β‖²  with pᵢ = σ(β₀ + xᵢ·β);
 * the intercept β₀ is not penalised. Each step solves (XᵀWX + λI′) Δ = Xᵀ(y − p) − λβ′ with
 * W = diag(pᵢ(1 − pᵢ)); the loss is convex, so Newton converges in a handful of steps. The
 * standard errors are the square roots of the diagonal of (XᵀWX + λI′)⁻¹ at the solution (the
 * observed information; with λ → 0 the textbook Wald errors).
 */
import { CholeskyDecomposition, inverse, Matrix } from 'ml-matrix';

export interface LogisticFit {
  /** Intercept first, then one per feature (on the scale the features were given in). */
  coefficients: number[];
  standardErrors: number[];
  iterations: number;
  converged: boolean;
}

export interface LogisticOptions {
  /** L2 penalty λ (on the coefficients, not the intercept). */
  lambda?: number;
  maxIterations?: number;
  /** Stop when the largest coefficient change is below this. */
  tolerance?: number;
}

export const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

/** β₀ + x·β. */
export const linear = (coefficients: readonly number[], x: ArrayLike<number>): number => {
  let z = coefficients[0] as number;
  for (let j = 0; j < x.length; j++) z += (coefficients[j + 1] as number) * (x[j] as number);
  return z;
};

export const fitLogistic = (
  rows: readonly ArrayLike<number>[],
  labels: readonly number[],
  options: LogisticOptions = {},
): LogisticFit => {
  const lambda = options.lambda ?? 1;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-8;
  const n = rows.length;
  if (n === 0) throw new Error('No rows to fit');
  const p = (rows[0] as ArrayLike<number>).length + 1;
  // The design matrix with a leading column of ones, row-major in one typed array: the n-sized
  // passes (X·β, XᵀWX, Xᵀr) run over it directly; ml-matrix solves and inverts the p × p system.
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as ArrayLike<number>;
    X[i * p] = 1;
    for (let j = 1; j < p; j++) X[i * p + j] = row[j - 1] as number;
  }
  // Start from the base rate: the intercept is its log-odds.
  const rate = Math.min(Math.max(labels.reduce((a, b) => a + b, 0) / n, 1e-6), 1 - 1e-6);
  const beta = new Float64Array(p);
  beta[0] = Math.log(rate / (1 - rate));
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations && !converged; iterations++) {
    const { hessian, gradient } = newtonSystem(X, n, p, beta, labels, lambda);
    const step = new CholeskyDecomposition(hessian).solve(gradient);
    let largest = 0;
    for (let j = 0; j < p; j++) {
      const d = step.get(j, 0);
      beta[j] = (beta[j] as number) + d;
      largest = Math.max(largest, Math.abs(d));
    }
    converged = largest < tolerance;
  }
  // The Hessian at the solution (after the last step).
  const covariance = inverse(newtonSystem(X, n, p, beta, labels, lambda).hessian);
  return {
    coefficients: Array.from(beta),
    standardErrors: Array.from({ length: p }, (_, j) => Math.sqrt(Math.max(covariance.get(j, j), 0))),
    iterations,
    converged,
  };
};

/**
 * One Newton step's system at β: the penalised Hessian XᵀWX + λI′ (symmetric by construction,
 * the upper triangle mirrored) and the gradient Xᵀ(y − p) − λβ′ (the intercept unpenalised).
 */
const newtonSystem = (
  X: Float64Array,
  n: number,
  p: number,
  beta: Float64Array,
  labels: readonly number[],
  lambda: number,
): { hessian: Matrix; gradient: Matrix } => {
  const h = new Float64Array(p * p);
  const g = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const o = i * p;
    let z = 0;
    for (let j = 0; j < p; j++) z += (X[o + j] as number) * (beta[j] as number);
    const pi = sigmoid(z);
    const w = Math.max(pi * (1 - pi), 1e-12);
    const r = (labels[i] as number) - pi;
    for (let j = 0; j < p; j++) {
      const xj = X[o + j] as number;
      g[j] = (g[j] as number) + xj * r;
      const wx = w * xj;
      for (let k = j; k < p; k++) h[j * p + k] = (h[j * p + k] as number) + wx * (X[o + k] as number);
    }
  }
  const hessian = new Matrix(p, p);
  const gradient = new Matrix(p, 1);
  for (let j = 0; j < p; j++) {
    const penalty = j === 0 ? 0 : lambda;
    gradient.set(j, 0, (g[j] as number) - penalty * (beta[j] as number));
    for (let k = j; k < p; k++) {
      const v = (h[j * p + k] as number) + (j === k ? penalty : 0);
      hessian.set(j, k, v);
      hessian.set(k, j, v);
    }
  }
  return { hessian, gradient };
};
