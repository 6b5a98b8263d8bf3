#ifndef CONTROLPLANE_CPOSTGRES_SHIM_H
#define CONTROLPLANE_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#include <postgres_ext.h>

// The PG_DIAG_* field codes are character-literal macros, which Swift does not import.
static const int cpg_diag_sqlstate = 'C';
static const int cpg_diag_message_primary = 'M';
static const int cpg_diag_message_detail = 'D';
static const int cpg_diag_constraint_name = 'n';
#endif
