"""Float64 error bounds that the tests' tolerances are built from (derivations inline).

Notation: eps = 2^-52 (float64 machine epsilon), u = eps / 2 the unit roundoff.  Standard
results (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 3): an n-term dot
product satisfies |fl(x.y) - x.y| <= gamma_n |x|.|y| with gamma_n = n u / (1 - n u) <= n eps
for n eps < 1; a sum of n terms the same with |x| in place of |x|.|y|.  Each bound below keeps
a factor of 2 to 8 over these worst cases for the few extra operations around them (a
normalization, a subtraction, a square root); none is fitted to observed values.
"""

import numpy as np

EPS = float(np.finfo(np.float64).eps)


def dot(n: int, scale: float = 1.0) -> float:
    """Return a bound on the error of an n-term float64 dot product with |x|.|y| <= scale."""
    return n * EPS * scale


def gram(d: int) -> float:
    """Return a bound on the error of <w_i, w_j> for float64 unit rows in R^d.

    Each stored row has norm 1 within (d + 2) u (normalization: a d-term sum of squares, a
    square root, a division), and the d-term dot product adds d u: in all (3d + 4) u <= 4 d eps
    for d >= 1, and 8 d eps leaves a factor 2 for the entries of a closed-form code that were
    themselves rounded (sqrt(5), cos(2 pi / K)).
    """
    return 8 * d * EPS


def angle_deg(d: int, cos_value: float) -> float:
    """Return a bound in degrees on the error of arccos(c) when c = cos_value is off by gram(d).

    d arccos(c) / dc = -1 / sqrt(1 - c^2); for c = +-1 the toolkit uses the chord form
    2 atan2(|a - b|, |a + b|), which is as accurate as its inputs: 4 d eps radians.
    """
    s = np.sqrt(max(1.0 - cos_value**2, 0.0))
    rad = gram(d) / s if s > 1e-4 else 4 * d * EPS
    return float(np.degrees(rad))


def hull_distance(K: int, d: int) -> float:
    """Return a bound on the error of a one-vs-rest distance ||w_k - p|| of unit rows.

    p is a convex combination of at most K - 1 rows: its coordinates are K-term sums of terms
    <= 1, off by K eps each; the difference w_k - p (entries <= 2) and a d-term norm add
    (d + 2) eps * 2: in all 2 (K + d + 2) eps, and 4 (K + d) eps covers the rounding of the
    weights themselves (they sum to 1 within K eps).
    """
    return 4 * (K + d) * EPS


def certificate_gap(K: int, d: int, kappa: float = 1.0, distance: float = 1.0) -> float:
    """Return a bound on a certificate gap distance - dual at an optimum solved to rounding.

    At the exact min-norm point x* the distance ||x*|| and the dual min_j <h, w_k - w_j> agree.
    The computed weights are off by delta with ||delta|| <= kappa (K + d) eps (a backward-stable
    least-squares solve on the support, condition number kappa), which moves x by
    Delta = U^T delta with ||Delta|| <= 2 ||delta||; the distance changes to second order, the
    dual to first order: gap <= 2 ||Delta|| / distance.  Plus the rounding of the distance and
    of the K - 1 dual dot products, each hull_distance(K, d).
    """
    return 4 * kappa * (K + d) * EPS / max(distance, EPS) + 2 * hull_distance(K, d)


def reported_gap(K: int, d: int) -> float:
    """Return a bound on the certificate gap the toolkit reports for a (K, d) code.

    hull.one_vs_rest stops each point at gap <= hull.GAP_TOL (its documented target) or
    re-solves it exactly on the host (gap at rounding level); the computed gap itself carries
    certificate_gap(K, d) of rounding.
    """
    from spherecodes import hull

    return hull.GAP_TOL + certificate_gap(K, d)


def c11_slack(K: int, d: int) -> float:
    """Return the slack of Theorem C.11, rho_1v1^2 / 2 <= rho_1vr <= rho_1v1, on measured values.

    rho_1vr is within its reported gap of the truth (weak duality), and rho_1v1 = |w_i - w_j|
    from the accurate chord form is within gram(d) (a d-term norm of differences <= 2); its
    square over 2 then within 2 gram(d).
    """
    return reported_gap(K, d) + 2 * gram(d)


def unit_norm(d: int, eps: float = EPS) -> float:
    """Return a bound on | ||w|| - 1 | for a normalized float64 row in R^d, measured in float64.

    Normalizing x (a d-term sum of squares, a square root, d divisions) leaves ||w|| = 1 within
    (d + 2) u (as in `gram`); measuring ||w|| again (the same d-term sum and square root) adds
    (d + 2) u: in all (d + 2) eps.  A row that is a signed unit vector e_i is exact (0 error).
    `eps`: the machine epsilon of the precision the row was normalized in (float32 rows cast to
    float64 keep their float32 error).
    """
    return (d + 2) * eps


def formula(n: int, scale: float = 1.0) -> float:
    """Return a bound on the absolute error of a closed form evaluated in n float64 operations.

    Each +, -, *, /, sqrt rounds with relative error <= u; an elementary function (cos, sin,
    acos, atan2, exp, log; libm or XLA's polynomial kernels) is counted as 4 operations (within
    4 ulp = 4 eps, the largest error NumPy documents for its SIMD kernels, glibc's are <= 2 ulp).
    By Higham's Lemma 3.1 the result is off by at most gamma_n <= n eps relative to every
    intermediate it depends on, provided no step amplifies an earlier error (condition number
    <= 1: products, quotients, sums of terms of one sign, functions with |f'| |x| <= |f|);
    with `scale` >= the largest intermediate magnitude the absolute error is <= n eps scale,
    and the factor 2 covers the reference value's own rounding on the other side of a
    comparison (computed with no more than n operations).  With scale = |value| this is a
    relative bound (pytest.approx rel=).
    """
    return 2 * n * EPS * scale


def same_sum(n: int, scale: float = 1.0) -> float:
    """Return a bound on the difference of two float64 evaluations of one n-term sum or dot product.

    The same quantity summed in two orders (blocked against dense, batched against looped,
    streamed against materialized) is, each time, within gamma_n sum |t_i| <= n eps scale of the
    exact value (Higham 3.1, `dot`); the two therefore differ by at most 2 n eps scale, where
    `scale` bounds sum |t_i|.
    """
    return 2 * dot(n, scale)


def logsumexp(m: int, scale: float) -> float:
    """Return a bound on the error of a float64 log-sum-exp of m terms x_i with |x_i| <= scale.

    lse(x) = M + log(sum_i exp(x_i - M)), M = max x_i: each difference x_i - M is off by
    2 scale u (inputs <= scale); exp then changes by that relative amount plus its own 4 eps
    (`formula`); the m-term sum of values in (0, 1] is off by gamma_m relative; log of S >= 1
    turns a relative error r into an absolute error <= r (plus 4 eps); adding M rounds by
    (scale + log m) u.  In all <= (m + 8) eps + 2 scale eps + (scale + log m) eps.
    """
    return (m + 8) * EPS + (3 * scale + np.log(max(m, 1))) * EPS


def polish_tol() -> float:
    """Return the stopping tolerance of `spherecodes.solvers.polish.polish` (its `tol` default).

    polish reports ``converged`` only when its KKT residual (min-max objectives: the
    stationarity residual of the pieces within `tol` of the max, whose spread is <= tol by
    construction; smooth ones: the Riemannian or Euclidean gradient norm) is <= tol, so that is
    the bound on a converged residual; it is not a rounding bound.
    """
    import inspect

    from spherecodes.solvers import polish

    return float(inspect.signature(polish.polish).parameters["tol"].default)


def exp_of_sum(n: int, scale: float, power: float = 1.0) -> float:
    """Return a relative bound on exp(power * (t_1 + ... + t_n)) with terms from log/lgamma.

    Each term is a log, lgamma or a product of constants, within 4 eps of its value (`formula`),
    and the n-term sum adds gamma_n, all over sum |t_i| <= scale: the exponent is off by
    |power| (n + 4) eps scale, plus 2 eps for the multiplication by `power`; exp turns an
    absolute error a into a relative error e^a - 1 <= 2a (a < 1) and adds its own 4 eps.
    """
    return 2 * (abs(power) * (n + 4) * EPS * scale + 2 * EPS) + 4 * EPS


def polish_value(n_rows: int) -> float:
    """Return a bound on |t(x) - t(x*)| for a min-max value that `polish` certified at x.

    polish certifies x when the pieces within tol = `polish_tol()` of the max t(x) have a
    convex combination of Riemannian gradients of norm res <= tol, and spread <= tol.  With
    mu those weights and x* the optimum it converged to, t(x*) >= sum_a mu_a f_a(x*) >=
    sum_a mu_a f_a(x) - res |x - x*| - O(|x - x*|^2) >= t(x) - spread - res |x - x*| - ..., and
    t(x) >= t(x*) (x* a local minimum): so |t(x) - t(x*)| <= tol (1 + |x - x*|), with
    |x - x*| <= 2 sqrt(n_rows) (each unit row moves at most a diameter).  The quadratic term is
    left out: polish ends with Newton on the active set (quadratic convergence), where
    |x - x*| = O(res) and that term is O(tol^2).  Not a rounding bound: the solver's own
    stopping tolerance, which rounding (gram-sized) sits far below.
    """
    return polish_tol() * (1 + 2 * np.sqrt(n_rows))


def cross_entropy(K: int, n: int, d: int, tau: float, wh: float = 1.0) -> float:
    """Return a bound on the error of the float64 mean cross-entropy of `losses.cross_entropy`.

    The margins m = <w_j - w_k, h> / tau (|w|, |h| <= wh, so |m| <= M = 2 wh^2 / tau) are off by
    a d-term dot product, a difference and a division: (d + 2) eps M.  Each per-sample CE is
    log(1 + sum_j exp(m_j)), whose derivatives in the m_j are softmax weights summing to < 1,
    so it moves by at most that margin error, plus its own log-sum-exp rounding
    (`logsumexp(K, M)`).  The weighted mean of nK values in [0, log K + M] adds gamma_{nK}
    relative to their sum (`dot(n K, log K + M)`).
    """
    M = 2 * wh * wh / tau
    return (d + 2) * EPS * M + logsumexp(K, M) + dot(n * K, np.log(K) + M)


def cross_entropy_grad(K: int, n: int, d: int, tau: float, wh: float = 1.0) -> float:
    """Return a bound on the 2-norm of the error of the float64 gradient of the mean CE in (W, H).

    d CE / d w_j (and / d h) is (1 / nK) sum over samples of (softmax weight - indicator) times
    h / tau (or w_j - w_k over tau): per sample the coefficients sum to <= 2 in magnitude.  Each
    weight is exp of a margin off by (d + 2) eps M (M = 2 wh^2 / tau, as in `cross_entropy`),
    so off by 2 (d + 2) eps M relative plus its log-sum-exp rounding (K + 8) eps; the nK-term
    accumulation adds gamma_{nK}; a Riemannian projection g - <g, x> x of a gradient that is
    normal at a stationary point adds (2 d + 4) eps |g| (a d-term dot, unit rows).  All this
    per entry times 2 wh / tau (|h|/tau, |w_j - w_k|/tau), and sqrt(2 K d) entries.
    """
    M = 2 * wh * wh / tau
    per_weight = 2 * (d + 2) * EPS * M + (K + 8) * EPS + n * K * EPS + (2 * d + 4) * EPS
    return float(np.sqrt(2 * K * d) * 2 * per_weight * 2 * wh / tau)


def cross_entropy_asymptotic(K: int, n: int, d: int, tau: float, wh: float = 1.0) -> float:
    """Return a bound on the error of `losses.cross_entropy_asymptotic` = tau log sum CE (eq. 12).

    Each per-sample log CE is log(softplus(lse of margins)); d log CE / d margin <= 1 (softplus
    of a log-sum-exp: sigmoid / softplus <= 1 and softmax weights), so log CE is off by the
    margin error (d + 2) eps M plus a log-sum-exp's rounding (`logsumexp(K, M)`) and a log's
    4 eps; |log CE| <= M + log K.  The outer log-sum-exp of nK such terms adds
    `logsumexp(n K, M + log K)`, and the factor tau scales it all.
    """
    M = 2 * wh * wh / tau
    per = (d + 2) * EPS * M + logsumexp(K, M) + 4 * EPS
    return tau * (per + logsumexp(n * K, M + np.log(K)))


def rotated_inner(d: int, R) -> float:
    """Return a bound on |<R w, R h> - <w, h>| for unit w, h and a computed rotation R (d x d).

    Exactly, <R w, R h> - <w, h> = w^T (R^T R - I) h, at most d max|R^T R - I| (the rotation's
    own orthogonality defect, measured in the test from R, plus dot(d) for that measurement);
    forming R w (d-term dot products, dot(d) per entry, sqrt d entries) moves each vector by
    sqrt(d) dot(d), the inner product by twice that.
    """
    R = np.asarray(R, dtype=np.float64)
    defect = np.abs(R.T @ R - np.eye(d)).max() + dot(d)
    return float(d * defect + 2 * np.sqrt(d) * dot(d))


def gnc1_collapsed(n: int, K: int, lam_max: float) -> float:
    """Return a bound on GNC1 = tr(Sigma_W Sigma_B^+) / K for exactly collapsed unit features.

    Every class holds n copies of one unit row, so its float64 mean (an n-term sum and a
    division) is that row within (n + 1) u and each centred row has norm <= (n + 1) eps:
    ||Sigma_W|| <= tr Sigma_W <= ((n + 1) eps)^2.  The pseudo-inverse keeps only eigenvalues
    above numpy's rank cut lam_max * d * eps (gnc.py), so ||Sigma_B^+|| <= 1 / (lam_max d eps)
    even when rounding lifts a null eigenvalue; tr(Sigma_W Sigma_B^+) <= d ||Sigma_W|| ||Sigma_B^+||
    and the d's cancel: GNC1 <= (n + 1)^2 eps / (K lam_max), lam_max = Sigma_B's largest eigenvalue.
    """
    return (n + 1) ** 2 * EPS / (K * lam_max)


def gnc3_closed(n: int, d: int) -> float:
    """Return a bound on the error of GNC3 = mean_k (1 - <w_k, mean_k>) with unit rows.

    The features are normalized again ((d + 2) u each entry, relative, as in `unit_norm`), the
    class means are n-term sums and a division ((n + 1) eps), <w_k, mean_k> a d-term dot
    (dot(d)) of vectors whose norms are 1 within unit_norm(d); 1 - x and the mean over K add
    2 u at magnitude <= 2.
    """
    return unit_norm(d) + (d + 2) * EPS + (n + 1) * EPS + dot(d) + 2 * EPS


def gnc1_relative(N: int, n: int, d: int, K: int, kappa: float, spread: float, h_max=1.0) -> float:
    """Return a relative bound on the float64 GNC1 = tr(Sigma_W Sigma_B^+) / K (gnc.py's _gnc1).

    Class means: n-term sums and a division, off by (n + 1) eps h_max; the centred rows h - mean
    then carry (n + 2) eps h_max absolutely, (n + 2) eps h_max / spread relatively (spread: the
    size of the deviations, a cancellation); Sigma_W (N-term sums of their products) has twice
    that plus N eps.  Sigma_B (K-term sums of products of means) is off by (K + 2 n + 2) eps
    relative, and eigh adds a backward error <= 4 d eps ||Sigma_B|| (LAPACK's p(d) eps), so the
    pseudo-inverse on the kept eigenspace is off by kappa (K + 2 n + 2 + 4 d) eps relative
    (kappa: Sigma_B's condition number there).  The trace of the d x d product adds 2 d eps.
    """
    sw = 2 * (n + 2) * EPS * h_max / spread + N * EPS
    return sw + kappa * (K + 2 * n + 2 + 4 * d) * EPS + 2 * d * EPS


def smooth_max(n: int, d: int, t: float, F: float = 2.0) -> float:
    """Return a bound on the error of the float64 surrogate t logsumexp(f / t) over n pieces.

    Each piece f_a (a bilinear form <x_p, x_q> or <w_k' - w_k, h_k> of unit rows) is a d-term
    dot product and a difference with |f_a| <= F: off by dot(d + 1, F); the log-sum-exp's
    derivatives (softmax weights) sum to 1, so that passes through, and t `logsumexp(n, F / t)`
    adds the log-sum-exp's own rounding in f units.
    """
    return dot(d + 1, F) + t * logsumexp(n, F / t)


def smooth_max_grad(n: int, exponent_err: float, F: float = 2.0) -> float:
    """Return a bound on an entry of the error of a gradient sum_a p_a grad f_a, p = softmax.

    The weights p_a = exp(e_a - lse(e)) have exponents off by at most exponent_err (in the
    exponent's own units, e.g. (piece error) / t plus the log-sum-exp's rounding), so each is
    off by p_a (e^(2 exponent_err) - 1) <= 4 exponent_err p_a (the exponent and the log-sum-exp
    both move); with |grad f_a| <= F entrywise the weighted sum moves by <= 4 exponent_err F,
    and its n-term accumulation adds gamma_n F.
    """
    return F * (4 * exponent_err + n * EPS)


def levenshtein_size(n: int, s: float) -> float:
    """Return a relative bound on the error of `bounds.levenshtein_size(n, s)` (a running bound).

    The piece L_m(n, s) = scale * bracket is chosen as `bounds` chooses it (the interval ends
    are not re-derived: L is continuous there, so either neighbouring piece has the value).
    scale = C(.,.) is an exact integer rounded once (u).  The Gegenbauer values come from the
    three-term recurrence q_{i+1} = ((2i + n - 2) s q_i - i q_{i-1}) / (i + n - 2); their
    errors are bounded by running error analysis (Higham, section 3.3): E_{i+1} <= (a_i |s|
    E_i + b_i E_{i-1}) + 4 u (a_i |s q_i| + b_i |q_{i-1}|), with a_i, b_i the recurrence's
    coefficients, computed alongside the values themselves.  The bracket A - N / D (odd m:
    N = q_{k-1} - q_k, D = (1 - s) q_k; even m: N = (1 + s)(q_k - q_{k+1}), D = (1 - s)(q_k +
    q_{k+1})) then carries err_A + (err_N + |N / D| err_D) / |D| + u |N / D| + u |bracket|, with
    err_N, err_D first-order sums of the E's and 2-3 roundings; the relative error is that over
    |bracket|, plus u for the scale and u for the product.  This is a bound at this s, so it
    grows where the bracket cancels or q_k is near a zero, as the computation does.
    """
    from spherecodes import bounds as B

    hi = 1
    while B._t11(n, hi) < s:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if B._t11(n, mid) < s else (lo, mid)
    k = hi
    m = 2 * k - 1 if s <= B._t10(n, k) else 2 * k
    k = (m + 1) // 2
    u = EPS / 2
    # running values and error bounds of (Q_{i-1}, Q_i, Q_{i+1}), i = 1 .. k
    q = [1.0, s, (n * s * s - 1.0) / (n - 1)]
    e = [0.0, 0.0, 4 * u * (n * s * s + 1.0) / (n - 1)]
    for i in range(2, k + 1):
        a, b = (2 * i + n - 2) / (i + n - 2), i / (i + n - 2)
        q_new = (a * s * q[2]) - b * q[1]
        e_new = a * abs(s) * e[2] + b * e[1] + 4 * u * (a * abs(s * q[2]) + b * abs(q[1]))
        q, e = [q[1], q[2], q_new], [e[1], e[2], e_new]
    one_minus_s = 1.0 - s
    if m % 2:
        A = (2 * k + n - 3) / (n - 1)
        N, eN = q[0] - q[1], e[0] + e[1] + u * abs(q[0] - q[1])
        D = one_minus_s * q[1]
        eD = abs(one_minus_s) * e[1] + 2 * u * abs(D)
    else:
        A = (2 * k + n - 1) / (n - 1)
        N = (1 + s) * (q[1] - q[2])
        eN = abs(1 + s) * (e[1] + e[2]) + 3 * u * abs(N)
        D = one_minus_s * (q[1] + q[2])
        eD = abs(one_minus_s) * (e[1] + e[2]) + 3 * u * abs(D)
    R = N / D
    bracket = A - R
    err = 2 * u * abs(A) + (eN + abs(R) * eD) / abs(D) + u * abs(R) + u * abs(bracket)
    return float(err / abs(bracket) + 2 * u)


def levenshtein_input(n: int, s: float, ds: float) -> float:
    """Return a bound on |L(n, s') - L(n, s)| / L(n, s) for |s' - s| <= ds (s itself rounded).

    L(n, .) is increasing (Levenshtein), so the change over [s - ds, s + ds] is at most
    L(s + ds) - L(s - ds), which is evaluated here in float64 and so carries both evaluations'
    running error bounds (`levenshtein_size`) on top.
    """
    from spherecodes import bounds as B

    hi, lo = B.levenshtein_size(n, s + ds), B.levenshtein_size(n, s - ds)
    rounding = levenshtein_size(n, s + ds) * hi + levenshtein_size(n, s - ds) * lo
    return float((hi - lo + rounding) / B.levenshtein_size(n, s))
