"""Synthetic multilingual corpora and a tiny tokenizer, for the tests and ``bench/corpus.py`` (never downloaded).

Documents are made of filler words and, for the "medical" ones, a chosen share of a language's
medical keywords; some are planted exact copies and near copies (a few words changed) of earlier
ones. Everything is a function of the seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FILLER = {
    "en": "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
          "you were her she there one all we their been has when who will more no if out so said what up its about "
          "into than them can only other new some could time these two may then do first any my now such like our over "
          "man me even most made after also did many before must through back years where much your way well down "
          "should because each just those people how too little state good very make world still own see men work "
          "long get here between both life being under never day same another know while last might us great old year "
          "off come since against go came right used take three garden river music train window market city morning",
    "es": "el la de que y a en un ser se no haber por con su para como estar tener le lo todo pero más hacer o poder "
          "decir este ir otro ese si me ya ver porque dar cuando él muy sin vez mucho saber qué sobre mi alguno mismo yo "
          "también hasta año dos querer entre así primero desde grande eso ni nos llegar pasar tiempo ella sí día uno bien "
          "poco deber entonces poner cosa tanto hombre parecer nuestro tan donde ahora parte después vida quedar siempre "
          "creer hablar llevar dejar nada cada seguir menos nuevo encontrar algo solo ciudad mercado tren música jardín",
    "fr": "le de un être et à il avoir ne je son que se qui ce dans en du elle au pour pas que vous par sur faire plus "
          "dire me on mon lui nous comme mais pouvoir avec tout y aller voir en bien où sans tu ou leur homme si deux "
          "mari moi vouloir te femme venir quand grand celui si notre devoir là jour prendre même votre rien petit "
          "encore aussi quelque dont tout mer trouver donner temps ça peu même falloir sous parler alors main chose "
          "ton mettre vie savoir yeux passer autre après regarder toujours puis jamais cela aimer ville marché train",
    "ru": "и в не на я быть он с что а по это она этот к но они мы как из у который то за свой что весь год от так о "
          "для ты же все тот мочь вы человек такой его сказать только или ещё бы себя один как уже до время если сам "
          "когда другой вот говорить наш мой знать стать при чтобы дело жизнь кто первый очень два день её новый рука "
          "даже во со раз где там под можно ну какой после их работа без самый потом надо хотеть ли слово идти большой "
          "должен место иметь ничто город рынок поезд музыка сад окно утро река",
    "zh": "的 一 是 在 不 了 有 和 人 这 中 大 为 上 个 国 我 以 要 他 时 来 用 们 生 到 作 地 于 出 就 分 对 成 会 可 主 "
          "发 年 动 同 工 也 能 下 过 子 说 产 种 面 而 方 后 多 定 行 学 法 所 民 得 经 十 三 之 进 着 等 部 度 家 电 力 "
          "里 如 水 化 高 自 二 理 起 小 物 现 实 加 量 都 两 体 制 机 当 使 点 从 业 本 去 把 性 好 应 开 它 合 还 因 由 "
          "城市 市场 火车 音乐 花园 窗户 早晨 河流 天气 朋友 学校 公司 电影 旅行 美食 周末",
    "ja": "の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など なっ ない この ため "
          "その あっ よう また もの という あり まで られ なる へ か だ これ によって により おり より による ず なり "
          "られる において ば なかっ なく しかし について せ だっ その後 できる それ う ので なお のみ でき き つ "
          "における および いう さらに でも ら たり たち ます ん なら 都市 市場 電車 音楽 庭園 窓 朝 川 天気 友達 "
          "学校 会社 映画 旅行 料理 週末",
}
"""Common words of each language (Chinese and Japanese without spaces between them in the text)."""
UNSPACED = {"zh", "ja"}


def _keywords(language: str) -> list[str]:
    from medsreg.corpus.keywords import read_keywords

    try:
        import medsreg_mmedc

        return read_keywords(Path(medsreg_mmedc.KEYWORDS) / f"{language}.txt")
    except ImportError:  # the plugin is not installed: a few keywords of the core's own
        return {"en": ["patient", "diagnosis", "treatment", "symptoms", "hospital", "blood pressure", "clinical trial"],
                "zh": ["患者", "诊断", "治疗", "症状", "医院", "高血压", "临床试验"],
                "ja": ["患者", "診断", "治療", "症状", "病院", "高血圧", "臨床試験"],
                "ru": ["пациент", "диагноз", "лечение", "симптомы", "больница", "побочные эффекты"],
                "es": ["paciente", "diagnóstico", "tratamiento", "síntomas", "hospital", "presión arterial"],
                "fr": ["patient", "diagnostic", "traitement", "symptômes", "hôpital", "pression artérielle"]}[language]


def document(rng: np.random.Generator, language: str, words: int, medical_share: float) -> str:
    """``words`` words of filler, a ``medical_share`` of them medical keywords, in sentences."""
    filler = FILLER[language].split()
    keywords = _keywords(language)
    medical = rng.random(words) < medical_share
    picks = np.where(medical, rng.integers(0, len(keywords), words), rng.integers(0, len(filler), words))
    tokens = [keywords[i] if m else filler[i] for i, m in zip(picks.tolist(), medical.tolist())]
    joiner = "" if language in UNSPACED else " "
    stop = "。" if language in UNSPACED else ". "
    sentences = [joiner.join(tokens[start : start + 12]) for start in range(0, len(tokens), 12)]
    return stop.join(sentences) + stop.strip()


def near_copy(rng: np.random.Generator, text: str, language: str, changes: int = 3) -> str:
    """``text`` with ``changes`` words (characters, in Chinese and Japanese) replaced by filler."""
    filler = FILLER[language].split()
    if language in UNSPACED:
        characters = list(text)
        for at in rng.integers(0, len(characters), changes).tolist():
            characters[at] = filler[int(rng.integers(0, len(filler)))][0]
        return "".join(characters)
    words = text.split(" ")
    for at in rng.integers(0, len(words), changes).tolist():
        words[at] = filler[int(rng.integers(0, len(filler)))]
    return " ".join(words)


def write_corpus(folder: Path, *, documents: int, languages: list[str], files: int = 4, seed: int = 0,
                 medical: float = 0.5, exact: float = 0.05, near: float = 0.05, words: tuple[int, int] = (150, 900)
                 ) -> dict[str, int]:
    """JSON Lines files ``folder/part-<i>.jsonl`` of documents with "id", "text" and "language"; about half
    medical, and ``exact`` / ``near`` shares that copy an earlier medical document (spread over the files).
    Returns counts of what was planted."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"part-{index:03d}.jsonl", "w", encoding="utf-8") for index in range(files)]  # noqa: SIM115
    planted = {"documents": 0, "medical": 0, "exact": 0, "near": 0, "bytes": 0}
    originals: list[tuple[str, str]] = []
    try:
        for index in range(documents):
            language = languages[index % len(languages)]
            roll = rng.random()
            same = [item for item in originals[-200:] if item[1] == language]
            if originals and roll < exact and same:
                text = same[int(rng.integers(0, len(same)))][0]
                planted["exact"] += 1
            elif originals and roll < exact + near and same:
                text = near_copy(rng, same[int(rng.integers(0, len(same)))][0], language)
                planted["near"] += 1
            elif rng.random() < medical:
                text = document(rng, language, int(rng.integers(*words)), 0.18)
                originals.append((text, language))
                planted["medical"] += 1
            else:
                text = document(rng, language, int(rng.integers(*words)), 0.0)
            line = json.dumps({"id": f"doc-{index}", "text": text, "language": language}, ensure_ascii=False) + "\n"
            handles[index % files].write(line)
            planted["documents"] += 1
            planted["bytes"] += len(line.encode("utf-8"))
    finally:
        for handle in handles:
            handle.close()
    return planted


def write_tokenizer(folder: Path, texts: list[str], vocab_size: int = 2000) -> Path:
    """A byte-level BPE tokenizer trained on ``texts``, saved as ``save_pretrained`` would (EOS ``</s>``, pad ``<pad>``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>", "pad_token": "<pad>"}), encoding="utf-8")
    return folder
