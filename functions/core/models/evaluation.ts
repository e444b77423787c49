/**
 * Evaluation of a probabilistic classifier on held-out rows, each metric beside its baseline,
 * and the gate a model passes before it is published. Pure.
 *
 * - AUC: the Mann–Whitney statistic (ties count a half) — the chance a random positive scores
 *   above a random negative; 0.5 is a coin.
 * - Log loss: mean −[y log p + (1 − y) log(1 − p)], against the base rate's (every person given
 *   the training positive rate): a model must beat "predict the average".
 * - Lift in the top 20 %: the positive rate among the 20 % scored highest over the overall rate
 *   (1 is no better than random targeting).
 */

export interface Evaluation {
  rows: number;
  positives: number;
  auc: number;
  logLoss: number;
  /** Log loss of predicting the training base rate for everyone. */
  baseLogLoss: number;
  /** Positive rate of the held-out rows. */
  baseRate: number;
  liftTop20: number;
}

export interface Gate {
  minAuc: number;
  /** Log loss must be at most this fraction of the base rate's. */
  maxLogLossRatio: number;
  minLiftTop20: number;
  /** Fewer held-out positives (or negatives) than this: the metrics mean nothing yet. */
  minPositives: number;
}

export const DEFAULT_GATE: Gate = { minAuc: 0.6, maxLogLossRatio: 0.99, minLiftTop20: 1.2, minPositives: 10 };

const clampP = (p: number) => Math.min(Math.max(p, 1e-15), 1 - 1e-15);

/** Area under the ROC curve by ranks, ties averaged. NaN without both classes. */
export const auc = (scores: readonly number[], labels: readonly number[]): number => {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (
      j + 1 < order.length &&
      (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]
    )
      j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[(order[k] as readonly [number, number])[1]] === 1) {
        positives++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
};

export const logLoss = (probabilities: readonly number[], labels: readonly number[]): number => {
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = clampP(probabilities[i] as number);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / Math.max(probabilities.length, 1);
};

/** Positive rate among the top `fraction` by score over the overall positive rate. */
export const liftAt = (scores: readonly number[], labels: readonly number[], fraction: number): number => {
  const n = scores.length;
  const total = labels.reduce((a, b) => a + b, 0);
  if (n === 0 || total === 0) return Number.NaN;
  const top = Math.max(1, Math.round(n * fraction));
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  let hits = 0;
  for (let k = 0; k < top; k++) hits += labels[(order[k] as readonly [number, number])[1]] as number;
  return hits / top / (total / n);
};

export const evaluate = (
  probabilities: readonly number[],
  labels: readonly number[],
  trainingRate: number,
): Evaluation => {
  const positives = labels.reduce((a, b) => a + b, 0);
  return {
    rows: labels.length,
    positives,
    auc: auc(probabilities, labels),
    logLoss: logLoss(probabilities, labels),
    baseLogLoss: logLoss(
      labels.map(() => trainingRate),
      labels,
    ),
    baseRate: positives / Math.max(labels.length, 1),
    liftTop20: liftAt(probabilities, labels, 0.2),
  };
};

/** Whether the evaluation passes, and each reason it does not (in words an admin can act on). */
export const judge = (e: Evaluation, gate: Gate = DEFAULT_GATE): { passed: boolean; reasons: string[] } => {
  const reasons: string[] = [];
  if (e.positives < gate.minPositives || e.rows - e.positives < gate.minPositives)
    reasons.push(
      `held-out set has ${e.positives} positives of ${e.rows}: at least ${gate.minPositives} of each class needed`,
    );
  else {
    if (!(e.auc >= gate.minAuc)) reasons.push(`AUC ${e.auc.toFixed(3)} below ${gate.minAuc}`);
    if (!(e.logLoss <= e.baseLogLoss * gate.maxLogLossRatio))
      reasons.push(
        `log loss ${e.logLoss.toFixed(4)} does not beat the base rate's ${e.baseLogLoss.toFixed(4)}`,
      );
    if (!(e.liftTop20 >= gate.minLiftTop20))
      reasons.push(`lift in the top 20 % ${e.liftTop20.toFixed(2)} below ${gate.minLiftTop20}`);
  }
  return { passed: reasons.length === 0, reasons };
};
