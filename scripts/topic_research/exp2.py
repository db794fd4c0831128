import sys; sys.path.insert(0, '/work/scratch/r')
from common import *
from sklearn.linear_model import LogisticRegression
P = {'old': np.load(R + 'P_old.npy'), 'new': np.load(R + 'P_new.npy')}; Pn = np.load(R + 'Pn.npy')
allpool = np.ones(len(arts), bool)
def selftrain(C0, X, pool, pos_frac, neg_frac, Creg=1.0, rounds=2, pos_rule='frac', cw=None):
    S = C0.copy()
    for r in range(rounds):
        prob = np.zeros_like(S)
        for j in range(S.shape[1]):
            s = S[pool, j]; Xp = X[pool]
            order = np.argsort(-s, kind='stable')
            npos = max(5, int(pos_frac * len(s))) if pos_rule == 'frac' else max(5, int((s > (0 if r == 0 else 0.5)).sum() * pos_frac))
            nneg = int(neg_frac * len(s))
            pidx, nidx = order[:npos], order[len(s) - nneg:]
            y = np.r_[np.ones(len(pidx)), np.zeros(len(nidx))]
            clf = LogisticRegression(C=Creg, max_iter=2000, class_weight=cw).fit(Xp[np.r_[pidx, nidx]], y)
            prob[:, j] = clf.predict_proba(X)[:, 1]
        S = prob
    return S
for lab in ['old', 'new']:
    C = passage_max(P[lab] - Pn)
    for poolname, pool in [('bundled', bundled), ('bbcfull', allpool)]:
        for pf, nf in [(0.05, 0.5), (0.1, 0.5), (0.15, 0.5), (0.1, 0.7)]:
            for rounds in [1, 2]:
                S = selftrain(C, D, pool, pf, nf, rounds=rounds)
                report(f'{lab} {poolname} pos{pf} neg{nf} r{rounds}', S[gidx], (S[gidx] >= 0.5).astype(int))
        for pf in [0.5, 1.0]:
            S = selftrain(C, D, pool, pf, 0.5, rounds=2, pos_rule='pos')
            report(f'{lab} {poolname} C>0 frac{pf} r2', S[gidx], (S[gidx] >= 0.5).astype(int))
