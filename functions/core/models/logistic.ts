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

/** XᵀWX is symmetric but rounding says otherwise by an ulp; Cholesky insists. */
const symmetric = (m: Matrix): Matrix => m.add(m.transpose()).mul(0.5);

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
  // The design matrix with a leading column of ones.
  const X = new Matrix(n, p);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as ArrayLike<number>;
    X.set(i, 0, 1);
    for (let j = 1; j < p; j++) X.set(i, j, row[j - 1] as number);
  }
  const Xt = X.transpose();
  const penalty = Matrix.eye(p, p).mul(lambda);
  penalty.set(0, 0, 0);
  // Start from the base rate: the intercept is its log-odds.
  const rate = Math.min(Math.max(labels.reduce((a, b) => a + b, 0) / n, 1e-6), 1 - 1e-6);
  let beta = Matrix.zeros(p, 1);
  beta.set(0, 0, Math.log(rate / (1 - rate)));
  let hessian = Matrix.eye(p, p);
  let iterations = 0;
  let converged = false;
  const w = new Float64Array(n);
  const residual = new Matrix(n, 1);
  for (; iterations < maxIterations && !converged; iterations++) {
    const z = X.mmul(beta);
    for (let i = 0; i < n; i++) {
      const pi = sigmoid(z.get(i, 0));
      w[i] = Math.max(pi * (1 - pi), 1e-12);
      residual.set(i, 0, (labels[i] as number) - pi);
    }
    hessian = symmetric(Xt.clone().mulRowVector(w).mmul(X).add(penalty));
    const gradient = Xt.mmul(residual).sub(penalty.mmul(beta));
    const step = new CholeskyDecomposition(hessian).solve(gradient);
    beta = beta.add(step);
    converged = step.abs().max() < tolerance;
  }
  // The Hessian at the solution (recomputed after the last step).
  const z = X.mmul(beta);
  for (let i = 0; i < n; i++) {
    const pi = sigmoid(z.get(i, 0));
    w[i] = Math.max(pi * (1 - pi), 1e-12);
  }
  hessian = symmetric(Xt.clone().mulRowVector(w).mmul(X).add(penalty));
  const covariance = inverse(hessian);
  return {
    coefficients: beta.getColumn(0),
    standardErrors: Array.from({ length: p }, (_, j) => Math.sqrt(Math.max(covariance.get(j, j), 0))),
    iterations,
    converged,
  };
};
