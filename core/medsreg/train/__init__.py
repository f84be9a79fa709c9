"""``medsreg train``: supervised fine-tuning (full or LoRA) on the mixture of ``medsreg build``, and continued
pretraining (``--objective clm``) on a packed corpus.

Why transformers' ``Trainer`` and not TRL's ``SFTTrainer``: the work SFTTrainer adds (chat templates,
prompt masking, packing) is already medsreg's own, in ``medsreg.build.tokenize``, where it is
checked row by row (the prompt must be a token prefix of the conversation) and shared with ``build
--tokenizer``; what is left is a padding collator that pads labels with -100 and a position-ids one
for packed rows. Trainer brings everything else (DDP / FSDP under ``torchrun`` or ``accelerate
launch``, mixed precision, gradient checkpointing, checkpoints that resume with the optimizer and
data position, peft models) with one dependency fewer and an API that moves less than TRL's.

Modules: ``config`` (the pydantic settings, presets, file + overrides; no torch), ``data`` (the
dataset checked, tokenized, packed; collators), ``run`` (model, Trainer, checkpoints and the model
fingerprint), ``command`` (the click command; imports click only).
"""
