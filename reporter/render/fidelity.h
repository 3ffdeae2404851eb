/*
 * fidelity.h - what the figures cannot show (model/fidelity.h), in words:
 * "note: ..." lines in the text report and the report JSON's "fidelity"
 * object, whose "notes" are the same sentences (the HTML page shows them).
 */
#ifndef LDPR_RENDER_FIDELITY_H
#define LDPR_RENDER_FIDELITY_H

#include "model/fidelity.h"
#include "render/json.h"
#include "util/util.h"

void render_fidelity_text(struct strbuf *b, const struct fidelity *f);
json_t *render_fidelity_json(const struct fidelity *f);

#endif
