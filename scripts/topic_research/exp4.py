import sys; sys.path.insert(0, '/work/scratch/r')
from common import *
from exp3 import fit_pred, P, Pn
Cp = P['new'] - Pn; pp = bundled[doc_of]
for pf, nf in [(0.1, 0.7), (0.1, 0.8), (0.15, 0.7), (0.08, 0.7)]:
    for Creg in [1.0, 3.0]:
        Sp = fit_pred(Cp, Ep, pp, pf, nf, Creg, None)
        S = passage_max(Sp)
        report(f'new PASSAGE pf{pf} nf{nf} C{Creg}', S[gidx], (S[gidx] >= 0.5).astype(int))
        Sl = fit_pred(Cp, Ep, pp, pf, nf, Creg, None, Xpred=El)
        report(f'   on LEDE', Sl[gidx], (Sl[gidx] >= 0.5).astype(int))
