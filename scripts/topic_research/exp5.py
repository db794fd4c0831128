import sys; sys.path.insert(0, '/work/scratch/r')
from common import *
from exp3 import fit_pred, P, Pn
print('gold', len(gold), (gold.split=='tune').sum())
sig = lambda c: 1 / (1 + np.exp(-20 * (c - 0.25)))
for lab in ['old', 'new']:
    S = passage_max(sig(P[lab]))[gidx]; report(f'{lab} zero-shot sigmoid', S, (S >= .5).astype(int))
    C = passage_max(P[lab] - Pn)[gidx]; report(f'{lab} contrast>0', C, (C > 0).astype(int))
for lab in ['old', 'new']:
    Cp = P[lab] - Pn; pp = bundled[doc_of]
    for pf, nf in [(0.05, 0.7), (0.08, 0.7), (0.1, 0.7), (0.1, 0.8), (0.15, 0.7)]:
        for Creg in [1.0, 3.0]:
            Sp = fit_pred(Cp, Ep, pp, pf, nf, Creg, None)
            S = passage_max(Sp)
            a = report(f'{lab} PASSAGE pf{pf} nf{nf} C{Creg}', S[gidx], (S[gidx] >= 0.5).astype(int))
            Sl = fit_pred(Cp, Ep, pp, pf, nf, Creg, None, Xpred=El)
            b = report(f'   on LEDE', Sl[gidx], (Sl[gidx] >= 0.5).astype(int))
            print(f'   criterion (tune art+lede)/2 = {(a["tune"][0] + b["tune"][0]) / 2:.3f}')
