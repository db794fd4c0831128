import sys; sys.path.insert(0, '/work/scratch/r')
from common import *
from sklearn.linear_model import LogisticRegression
P = {'old': np.load(R + 'P_old.npy'), 'new': np.load(R + 'P_new.npy')}; Pn = np.load(R + 'Pn.npy')
def fit_pred(S, X, pool, pf, nf, Creg=1.0, cw=None, Xpred=None):
    prob = np.zeros((len(X) if Xpred is None else len(Xpred), S.shape[1]))
    for j in range(S.shape[1]):
        s = S[pool, j]; Xp = X[pool]
        order = np.argsort(-s, kind='stable')
        npos, nneg = int(pf * len(s)), int(nf * len(s))
        idx = np.r_[order[:npos], order[len(s) - nneg:]]
        y = np.r_[np.ones(npos), np.zeros(nneg)]
        clf = LogisticRegression(C=Creg, max_iter=3000, class_weight=cw).fit(Xp[idx], y)
        prob[:, j] = clf.predict_proba(X if Xpred is None else Xpred)[:, 1]
    return prob
if __name__ == "__main__":
 for lab in ["old", "new"]:
     C = passage_max(P[lab] - Pn)
     # oracle diagnostic: best threshold F1 on all gold for contrast
     from sklearn.metrics import precision_recall_curve
     best = [max(2*p*r/(p+r+1e-9) for p, r in zip(*precision_recall_curve(Y[:, j], C[gidx, j])[:2])) for j in range(3)]
     print(lab, 'contrast oracle per-label F1', np.round(best, 3), np.mean(best).round(3))
     for pool_name, pool in [('bundled', bundled)]:
         for pf, nf in [(0.1, 0.7), (0.1, 0.8), (0.08, 0.8), (0.12, 0.8)]:
             for cw in [None, 'balanced']:
                 for Creg in [0.3, 1.0, 3.0]:
                     S = fit_pred(C, D, pool, pf, nf, Creg, cw)
                     report(f'{lab} doc pf{pf} nf{nf} cw{cw} C{Creg}', S[gidx], (S[gidx] >= 0.5).astype(int))
     # passage-level head
     Cp = P[lab] - Pn
     pp = bundled[doc_of]
     for pf, nf in [(0.05, 0.7), (0.1, 0.7)]:
         Sp = fit_pred(Cp, Ep, pp, pf, nf, 1.0, None)
         S = passage_max(Sp)
         report(f'{lab} PASSAGE head pf{pf} nf{nf}', S[gidx], (S[gidx] >= 0.5).astype(int))
         # lede with passage head
         Sl = fit_pred(Cp, Ep, pp, pf, nf, 1.0, None, Xpred=El)
         report(f'{lab} PASSAGE head on LEDE', Sl[gidx], (Sl[gidx] >= 0.5).astype(int))
     S = fit_pred(C, D, bundled, 0.1, 0.7, 1.0, None, Xpred=El)
     report(f'{lab} doc head on LEDE', S[gidx], (S[gidx] >= 0.5).astype(int))
