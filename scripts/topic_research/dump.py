"""Embed passages of bbc_full corpus, title+lede, AG News, and label descriptions with MiniLM."""
import sys, time, numpy as np, pandas as pd
from zeroshot_news.config import load_config
from zeroshot_news.scorers.embedding import EmbeddingScorer
from zeroshot_news.topic import split_articles
from zeroshot_news.passages import sentence_spans, article_text

cfg = load_config('params.yaml')
s = EmbeddingScorer(cfg.model, progress=False)
out = '/work/scratch/r/'
arts = pd.read_parquet(out + 'bbcfull/processed/articles.parquet')
hyps = [h for _, h in cfg.taxonomy.hypotheses()]
t = time.time()
pas = split_articles(arts, s, hyps, 1, progress=False)
print('passages', len(pas), time.time() - t, flush=True)
def emb(texts):
    res = []
    for i in range(0, len(texts), 512):
        res.append(s.embed(texts[i:i+512])); s._cache = {}
    return np.concatenate(res).astype(np.float32)
t = time.time(); E = emb(list(pas.text)); print('embedded', time.time() - t, flush=True)
pas[['doc_id', 'passage', 'n_tokens']].to_parquet(out + 'passages.parquet')
np.save(out + 'E_pass.npy', E)
# headline + lede
lede = []
for title, body in zip(arts.title, arts.body):
    b = body.strip()
    sp = sentence_spans(b)
    first = b[sp[0][0]:sp[0][1]] if sp else b[:300]
    lede.append((title or '').strip() + '\n' + first.strip())
np.save(out + 'E_lede.npy', emb(lede))
arts[['doc_id', 'path', 'title']].assign(lede=lede).to_parquet(out + 'arts.parquet')
ag = pd.read_csv('data/external/benchmarks/agnews/test.csv', header=None, names=['y', 'title', 'desc'])
agt = (ag.title.str.strip() + '. ' + ag.desc.str.replace('\\', ' ').str.strip()).tolist()
t = time.time(); np.save(out + 'E_ag.npy', emb(agt)); print('ag', time.time() - t, flush=True)
ag.to_parquet(out + 'ag.parquet')
