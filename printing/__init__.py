"""From approved application to card in hand: print orders, prices, card rendering, batches."""
