"""ELECTRA replaced-token detection (Clark et al. 2020), the pure pieces and the generator/discriminator pair.

Reference choices (electra/pretrain/pretrain_helpers.py, configure_pretraining.py):
  * 15% of the (non-special) tokens are selected; of those 85% become [MASK], 15% keep the original token
    (ELECTRA has no random-token replacement: the generator makes the replacements).
  * The generator (a small masked LM) predicts the selected positions; its samples are drawn from its
    softmax with gradients stopped, and replace the selected tokens.
  * The discriminator labels a token "replaced" only if the sample differs from the original.
  * Loss = generator MLM loss + 50 * discriminator loss; token embeddings are shared, the generator's
    output layer is tied to them.
"""
import torch
import torch.nn.functional as F
from torch import nn
from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining


def mask_tokens(input_ids, maskable, mask_prob: float, mask_token_id: int, keep_prob: float = 0.15, generator=None):
    """Select ~mask_prob of the maskable tokens; [MASK] 1-keep_prob of them, keep the rest. Returns (masked_ids, selected)."""
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)  # (B, T)
    selected = (u < mask_prob) & maskable  # (B, T) bool
    keep = torch.rand(input_ids.shape, generator=generator, device=input_ids.device) < keep_prob
    masked_ids = torch.where(selected & ~keep, torch.full_like(input_ids, mask_token_id), input_ids)
    return masked_ids, selected


def sample_tokens(logits, generator=None):
    """One sample per position from softmax(logits), no gradient (Gumbel-max)."""
    with torch.no_grad():
        u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=torch.float32)
        gumbel = -torch.log(-torch.log(u.clamp(1e-9, 1.0 - 1e-7)))
        return (logits.float() + gumbel).argmax(-1)  # (N,)


def rtd_labels(original, corrupted, attention_mask):
    """1 where the discriminator input differs from the original (replaced), 0 elsewhere; padding ignored via mask."""
    return ((corrupted != original) & attention_mask.bool()).long()  # (B, T)


def generator_config(disc: ElectraConfig, size_divisor: int = 4) -> ElectraConfig:
    """The paper's generator: same depth and embeddings, hidden/heads/FFN divided (1/4 for ELECTRA-small)."""
    cfg = ElectraConfig(**disc.to_dict())
    cfg.hidden_size = max(16, disc.hidden_size // size_divisor)
    cfg.num_attention_heads = max(1, disc.num_attention_heads // size_divisor)
    cfg.intermediate_size = max(32, disc.intermediate_size // size_divisor)
    return cfg


class ElectraPretrainer(nn.Module):
    """Generator + discriminator with shared embeddings and a tied generator output layer."""

    def __init__(self, disc_config: ElectraConfig, gen_size_divisor: int = 4, disc_weight: float = 50.0, mask_prob: float = 0.15):
        super().__init__()
        self.discriminator = ElectraForPreTraining(disc_config)
        self.generator = ElectraForMaskedLM(generator_config(disc_config, gen_size_divisor))
        self.generator.electra.embeddings = self.discriminator.electra.embeddings  # shared token/position embeddings
        self.generator.generator_lm_head.weight = self.discriminator.electra.embeddings.word_embeddings.weight  # tied
        self.disc_weight, self.mask_prob = disc_weight, mask_prob

    def forward(self, input_ids, attention_mask, special_ids: list[int], mask_token_id: int):
        maskable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(special_ids, device=input_ids.device))
        masked_ids, selected = mask_tokens(input_ids, maskable, self.mask_prob, mask_token_id)
        g = self.generator
        gen_hidden = g.electra(input_ids=masked_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, Hg)
        sel_logits = g.generator_lm_head(g.generator_predictions(gen_hidden[selected]))  # (N, V): only selected positions
        gen_loss = F.cross_entropy(sel_logits.float(), input_ids[selected]) if selected.any() else gen_hidden.sum() * 0
        corrupted = input_ids.clone()
        corrupted[selected] = sample_tokens(sel_logits)
        labels = rtd_labels(input_ids, corrupted, attention_mask)  # (B, T)
        disc_logits = self.discriminator(input_ids=corrupted, attention_mask=attention_mask).logits  # (B, T)
        m = attention_mask.bool()
        disc_loss = F.binary_cross_entropy_with_logits(disc_logits[m].float(), labels[m].float())
        pred = (disc_logits[m] > 0).long()
        y = labels[m]
        tp = ((pred == 1) & (y == 1)).sum()
        stats = {
            "gen_loss": gen_loss.detach(), "disc_loss": disc_loss.detach(),
            "disc_acc": (pred == y).float().mean(), "replaced_frac": y.float().mean(),
            "disc_precision": tp / pred.sum().clamp(min=1), "disc_recall": tp / y.sum().clamp(min=1),
            "gen_acc": (sel_logits.argmax(-1) == input_ids[selected]).float().mean() if selected.any() else gen_loss.detach() * 0,
        }
        return gen_loss + self.disc_weight * disc_loss, stats
