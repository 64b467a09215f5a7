#!/usr/bin/env bash
printf '\n  Legitka is starting on  http://127.0.0.1:%s\n' "${PORT:-5000}"
cat <<'TXT'
  Demo logins (password for all: legitka-demo):
    school director     dyrektor@sp1.demo
    school secretary    sekretariat@sp1.demo
    printer operator    drukarnia@pomorska-karta.demo   (also drukarnia@centrum-druku.demo, drukarnia@polcard.demo)
    city official       urzednik@szczecin.demo
    data protection     iod@szczecin.demo   (the city's officer: /iod/)
    platform admin      admin@legitka.demo
  Every demo school has dyrektor@<slug>.demo and sekretariat@<slug>.demo (slugs: sp1 sp18 sp37 sp48 sp61 sp74
  lo2 lo13 tech-lacz tech-mech bs2 sosw1 cku).
  Second factor (directors, officials, printers, admin): after the password the portal asks for a code;
  print it in another terminal with
    .venv/bin/flask --app portal legitka demo-totp dyrektor@sp1.demo
  (each code works once; the command prints one not used yet). Secretaries need no code.

TXT
