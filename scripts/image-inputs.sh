# shellcheck shell=bash
# scripts/image-inputs.sh - what an image is made of, as one hash, and the tag made from it.
# Sourced by scripts/build-image.sh; tests/unit/test_image_inputs.py runs it on made-up trees.
#
#   inputs_hash DIR REPO TEXT FROM_ID ARGS INPUT...   sha256 (64 hex) of the inputs
#   content_tag VERSION HASH                          VERSION-<first 12 hex of HASH>
#
# An INPUT is a file or a directory, relative to DIR (the image folder) or absolute. A file
# counts by its content and base name (the hash of the images declared before directories
# existed here is unchanged); a directory by every file under it, with its path relative to
# REPO, less what .dockerignore keeps out of a build context (__pycache__, *.pyc, *.egg-info,
# .DS_Store), in a fixed (C locale) order. TEXT (a pinned checksum), FROM_ID (the base image's
# ID) and ARGS (the build arguments) follow, one line each.

inputs_hash() {
  local dir="$1" repo="$2" text="$3" from_id="$4" build_args="$5" f path
  shift 5
  {
    for f in "$@"; do
      [[ "$f" = /* ]] || f="$dir/$f"
      if [ -d "$f" ]; then
        while IFS= read -r -d '' path; do
          printf '%s %s\n' "$(sha256sum <"$path" | cut -c1-64)" "${path#"$repo"/}"
        done < <(find "$f" \( -name __pycache__ -o -name '*.egg-info' \) -prune -o -type f \
                   ! -name '*.py[cod]' ! -name .DS_Store -print0 | LC_ALL=C sort -z)
      else
        [ -f "$f" ] || { echo "image-inputs: no input $f" >&2; return 1; }
        printf '%s %s\n' "$(sha256sum <"$f" | cut -c1-64)" "${f##*/}"
      fi
    done
    printf '%s\n' "$text" "$from_id" "$build_args"
  } | sha256sum | cut -c1-64
}

content_tag() {
  local version="$1" hash="$2"
  [[ "$hash" =~ ^[0-9a-f]{64}$ ]] || { echo "image-inputs: not a sha256: '$hash'" >&2; return 1; }
  printf '%s-%s\n' "$version" "${hash:0:12}"
}
