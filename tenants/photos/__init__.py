"""Pupils' photos: decoding within a memory budget, the card's photo checks, intake and review,
parents' upload links, ZIP archives of photos and the parent's e-mail about a decision."""
