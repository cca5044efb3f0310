#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches three public emoji sets and writes them as one captioned image
# folder that `train_text2image --dataset folder:DIR` reads:
#
#   DIR/images/<designer>_<code points>.png   64x64 (RGBA: the loader composites on white)
#   DIR/captions.tsv                          file<TAB>caption, the CLDR name lower-cased
#   DIR/metadata.jsonl                        one object per image: file, caption, designer,
#                                             category, subcategory, skin tone(s), base emoji,
#                                             tags, licence, and the caption's other phrasings
#                                             caption_tags ("red apple, apple, fruit, ...") and
#                                             caption_style ("red apple, noto style")
#   DIR/heldout.txt                           the images of the held-out (emoji, skin tone) pairs:
#                                             20% of the pairs, every emoji and every tone still
#                                             seen in training, just not together
#   DIR/LICENSES.md and DIR/licenses/         the licences and the attribution they require
#
# Sources (npm packages, pinned; fetched here, never committed to the project):
#   emoji-datasource-google 16.0.0  Noto Emoji PNGs (Apache-2.0), 64x64
#   emoji-datasource-twitter 16.0.0 Twemoji PNGs (CC-BY 4.0), 64x64
#   openmoji 17.0.0                 OpenMoji SVGs (CC BY-SA 4.0), rendered at 64x64 with
#                                   rsvg-convert; data/openmoji.json gives every emoji's
#                                   CLDR annotation, tags, group and subgroup
# The Apple and Facebook images of emoji-datasource are left out (no licence that allows it).
#
# Usage: scripts/fetch-emoji.sh [--tags] [--style] DIR
#   --tags   append the emoji's CLDR keywords to its caption ("red apple, apple, fruit, ...")
#   --style  append the designer as a style word ("red apple, noto style")
# Idempotent: packages already installed and images already converted are kept;
# the captions and metadata are rewritten (so the options can change between runs).
# Installs Debian's npm and librsvg2-bin when they are missing (needs root or sudo).
set -euo pipefail

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }

tags=0 style=0 dir=""
while (($#)); do
  case "$1" in
    --tags) tags=1 ;;
    --style) style=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fetch-emoji.sh: unknown option '$1' (expected --tags, --style or a directory)" >&2; exit 2 ;;
    *) [[ -z "$dir" ]] || { echo "fetch-emoji.sh: one directory expected, got '$dir' and '$1'" >&2; exit 2; }
       dir=$1 ;;
  esac
  shift
done
[[ -n "$dir" ]] || { usage >&2; exit 2; }

start=$SECONDS
say() { echo "[fetch-emoji $((SECONDS - start)) s] $*"; }

# --- tools ---------------------------------------------------------------
missing=()
command -v npm >/dev/null || missing+=(npm)
command -v node >/dev/null || missing+=(nodejs)
command -v rsvg-convert >/dev/null || missing+=(librsvg2-bin)
if ((${#missing[@]})); then
  say "installing ${missing[*]} with apt-get"
  sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$dir/images" "$dir/licenses"
dir=$(cd "$dir" && pwd)
npm_dir="$dir/npm"
modules="$npm_dir/node_modules"

# --- packages ------------------------------------------------------------
packages=(emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0 openmoji@17.0.0)
have_all=1
for p in "${packages[@]}"; do
  name=${p%@*} version=${p##*@}
  got=$(node -p "require('$modules/$name/package.json').version" 2>/dev/null || true)
  [[ "$got" == "$version" ]] || have_all=0
done
if ((have_all)); then
  say "npm packages already in $npm_dir"
else
  say "fetching ${packages[*]} from the npm registry"
  mkdir -p "$npm_dir"
  npm install --silent --no-audit --no-fund --prefix "$npm_dir" "${packages[@]}"
fi

# --- images --------------------------------------------------------------
# Noto and Twemoji: copied as they are (64x64 PNGs), under the designer's prefix.
copy_pngs() {  # copy_pngs <designer> <package image dir>
  # shellcheck disable=SC2016  # the single quotes hold JavaScript, not shell
  SRC=$2 DST="$dir/images" PREFIX=$1 node -e '
    const fs = require("fs"), {SRC, DST, PREFIX} = process.env;
    let n = 0;
    for (const f of fs.readdirSync(SRC)) {
      if (!f.endsWith(".png") || fs.existsSync(`${DST}/${PREFIX}_${f}`)) continue;
      fs.copyFileSync(`${SRC}/${f}`, `${DST}/${PREFIX}_${f}.part`);
      fs.renameSync(`${DST}/${PREFIX}_${f}.part`, `${DST}/${PREFIX}_${f}`);
      ++n;
    }
    console.log(n);' >"$dir/.copied"
  say "$1: $(cat "$dir/.copied") new PNGs copied from $2"
  rm -f "$dir/.copied"
}
copy_pngs noto "$modules/emoji-datasource-google/img/google/64"
copy_pngs twemoji "$modules/emoji-datasource-twitter/img/twitter/64"

# OpenMoji: render each SVG at 64x64 (transparent background, like the PNGs),
# several at a time; a file already rendered is kept. File names are the
# lower-cased code points, as the other two sets name theirs.
svg_dir="$modules/openmoji/color/svg"
todo=$(mktemp)
trap 'rm -f "$todo"' EXIT
for f in "$svg_dir"/*.svg; do
  base=${f##*/}
  base=${base%.svg}
  out="$dir/images/openmoji_${base,,}.png"
  [[ -e "$out" ]] || printf '%s\0%s\0' "$f" "$out" >>"$todo"
done
n_svg=$(tr -cd '\0' <"$todo" | wc -c)
n_svg=$((n_svg / 2))
if ((n_svg)); then
  say "openmoji: rendering $n_svg SVGs at 64x64 with rsvg-convert"
  # Render to a temporary name and rename, so an interrupted run never leaves a half-written PNG.
  # shellcheck disable=SC2016  # $0 and $1 belong to the inner shell
  xargs -0 -n 2 -P "$(nproc)" sh -c 'rsvg-convert -w 64 -h 64 -f png -o "$1.part" "$0" && mv "$1.part" "$1"' <"$todo"
fi
say "openmoji: $(find "$dir/images" -name 'openmoji_*.png' | wc -l) PNGs"

# --- captions, metadata, licences ------------------------------------------
cp "$modules/emoji-datasource-google/LICENSE" "$dir/licenses/emoji-datasource-MIT.txt"
cp "$modules/openmoji/LICENSE.txt" "$dir/licenses/openmoji-CC-BY-SA-4.0.txt"

TAGS=$tags STYLE=$style DIR="$dir" MODULES="$modules" node - <<'JS'
const fs = require('fs');
const path = require('path');
const {DIR, MODULES} = process.env;
const withTags = process.env.TAGS === '1', withStyle = process.env.STYLE === '1';

// Sequences are compared without the emoji presentation selector FE0F, which
// the two sources write in different places.
const key = (hex) => hex.toUpperCase().split('-').filter((c) => c !== 'FE0F').join('-');
const TONES = {'1F3FB': 'light', '1F3FC': 'medium-light', '1F3FD': 'medium', '1F3FE': 'medium-dark', '1F3FF': 'dark'};
const tonesOf = (hex) => key(hex).split('-').filter((c) => c in TONES).map((c) => TONES[c]);
const baseOf = (hex) => key(hex).split('-').filter((c) => !(c in TONES)).join('-');
const kebab = (s) => s.toLowerCase().replace(/&/g, ' ').trim().replace(/\s+/g, '-');

const openmoji = JSON.parse(fs.readFileSync(path.join(MODULES, 'openmoji/data/openmoji.json'), 'utf8'));
const byKey = new Map(openmoji.map((e) => [key(e.hexcode), e]));

const LICENCES = {
  noto: 'Apache-2.0 (Noto Emoji, Google)',
  twemoji: 'CC-BY-4.0 (Twemoji, Twitter, Inc and other contributors)',
  openmoji: 'CC-BY-SA-4.0 (OpenMoji, the open-source emoji and icon project)',
};

const rows = [];
const add = (designer, file, hex, fallback) => {
  const om = byKey.get(key(hex));
  const tones = tonesOf(hex);
  let name = om ? om.annotation : fallback.name.toLowerCase();
  if (!om && tones.length) name += ': ' + tones.map((t) => t + ' skin tone').join(', ');
  name = name.toLowerCase().replace(/[\t\r\n]+/g, ' ').trim();
  // The base emoji's keywords: a toned emoji's own entry lists none.
  const baseEntry = byKey.get(baseOf(hex));
  const tags = ((om && om.tags) || (baseEntry && baseEntry.tags) || '').toLowerCase();
  let caption = name;
  if (withTags && tags) caption += ', ' + tags;
  if (withStyle) caption += ', ' + designer + ' style';
  rows.push({
    file: 'images/' + file,
    caption,
    name,
    designer,
    category: om ? om.group : kebab(fallback.category),
    subcategory: om ? om.subgroups : fallback.subcategory,
    skin_tone: tones.join(','),
    base: baseOf(hex).toLowerCase(),
    code: key(hex).toLowerCase(),
    tags,
    // Other phrasings, for `--caption-keys` (each key an image-caption pair of its own).
    caption_tags: tags ? name + ', ' + tags : name,
    caption_style: name + ', ' + designer + ' style',
    licence: LICENCES[designer],
  });
};

for (const [designer, pkg, flag] of [['noto', 'emoji-datasource-google', 'has_img_google'],
                                      ['twemoji', 'emoji-datasource-twitter', 'has_img_twitter']]) {
  const list = JSON.parse(fs.readFileSync(path.join(MODULES, pkg, 'emoji.json'), 'utf8'));
  for (const e of list) {
    const variants = [e, ...Object.values(e.skin_variations || {})];
    for (const v of variants) {
      if (!v[flag]) continue;
      if (!fs.existsSync(path.join(DIR, 'images', designer + '_' + v.image))) continue;
      add(designer, designer + '_' + v.image, v.unified, e);
    }
  }
}
for (const e of openmoji) {
  const file = 'openmoji_' + e.hexcode.toLowerCase() + '.png';
  if (!fs.existsSync(path.join(DIR, 'images', file))) continue;
  add('openmoji', file, e.hexcode, {name: e.annotation, category: e.group, subcategory: e.subgroups});
}

// The compositional split: 20% of the (emoji, skin tone) pairs are held out
// of training, for every designer alike. Each toned emoji's tone variants, in
// code order, lose every fifth one, starting at an offset that rotates from
// one emoji to the next, so that every emoji is still seen (with its other
// tones and untoned) and every tone is seen (on other emoji), just not together.
const tonesByBase = new Map();
for (const r of rows)
  if (r.skin_tone) {
    if (!tonesByBase.has(r.base)) tonesByBase.set(r.base, new Set());
    tonesByBase.get(r.base).add(r.skin_tone);
  }
const heldOutPairs = new Set();
[...tonesByBase.keys()].sort().forEach((base, i) => {
  [...tonesByBase.get(base)].sort().forEach((tone, j) => {
    if ((i + j) % 5 === 0) heldOutPairs.add(base + ' ' + tone);
  });
});
for (const r of rows) r.held_out = heldOutPairs.has(r.base + ' ' + r.skin_tone);

const writeAtomic = (name, text) => {
  fs.writeFileSync(path.join(DIR, name + '.part'), text);
  fs.renameSync(path.join(DIR, name + '.part'), path.join(DIR, name));
};
writeAtomic('captions.tsv', rows.map((r) => r.file + '\t' + r.caption + '\n').join(''));
writeAtomic('metadata.jsonl', rows.map((r) => JSON.stringify(r) + '\n').join(''));
writeAtomic('heldout.txt', rows.filter((r) => r.held_out).map((r) => r.file + '\n').join(''));

const count = {};
const toned = {};
for (const r of rows) {
  count[r.designer] = (count[r.designer] || 0) + 1;
  if (r.skin_tone) toned[r.designer] = (toned[r.designer] || 0) + 1;
}
writeAtomic('LICENSES.md', `# Licences of the emoji images in this folder

| designer | images | licence | source |
| --- | --- | --- | --- |
| noto | ${count.noto || 0} | Apache License 2.0 | Noto Emoji by Google, through the npm package emoji-datasource-google 16.0.0 |
| twemoji | ${count.twemoji || 0} | CC BY 4.0 | Twemoji by Twitter, Inc and other contributors, through emoji-datasource-twitter 16.0.0 |
| openmoji | ${count.openmoji || 0} | CC BY-SA 4.0 | OpenMoji 17.0.0, rendered from SVG at 64x64 |

Attribution, as the licences require:
- Noto Emoji: Copyright Google Inc., licensed under the Apache License, Version 2.0
  (https://www.apache.org/licenses/LICENSE-2.0).
- Twemoji: Copyright 2020 Twitter, Inc and other contributors. Graphics licensed
  under CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/).
- OpenMoji: All emojis designed by OpenMoji, the open-source emoji and icon
  project. License: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/).
  Images derived from them (a model's samples, say) are shared under the same licence.
- The emoji names and categories come from emoji-datasource (MIT, licenses/emoji-datasource-MIT.txt)
  and openmoji.json (CLDR annotations, Unicode License).
`);
for (const d of ['noto', 'twemoji', 'openmoji'])
  console.log(`${d}: ${count[d] || 0} image-caption pairs (${toned[d] || 0} with a skin tone)`);
console.log(`total: ${rows.length} pairs, ${new Set(rows.map((r) => r.name)).size} distinct names; ` +
            `held out: ${heldOutPairs.size} (emoji, skin tone) pairs of ${[...tonesByBase.values()].reduce((n, s) => n + s.size, 0)}, ` +
            `${rows.filter((r) => r.held_out).length} images (heldout.txt)`);
JS
say "done: $dir/captions.tsv, $dir/metadata.jsonl, $dir/LICENSES.md"
