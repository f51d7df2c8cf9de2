/* grammar/parser.y — the playbook grammar (LANGUAGE.md §1–7) -> Ast.
 *
 * Pure and reentrant; every rule records the span a diagnostic should point
 * at.  Error recovery resynchronises at the end of a statement, declaration,
 * clause or rule, so one run reports every syntax error it can.  The newline
 * rule of §1 is applied in ps_lex, between the scanner and the parser: a
 * newline reaches the grammar as NL only where it ends something, and an NL
 * is inserted before every `}` so the last statement of a block (or entry of
 * a map) ends the same way as the others. */

%code requires {
#include <stddef.h>
#include <stdint.h>
#include "compiler/ast.h"
#include "compiler/diag.h"

/* A token's or a rule's extent: lines and columns (characters) for
 * diagnostics, bytes for quoting source text.  24 bytes: the parser copies
 * one per shift and per reduction, so it is kept small (sources are below
 * 2 GiB, lex_open). */
typedef struct PsLoc {
  uint32_t first_line, first_column, first_byte;
  uint32_t last_line, last_column, last_byte;
} PsLoc;

typedef struct PsCtx PsCtx;

/* Semantic values bigger than a pointer live in the arena and the %union
 * holds a pointer to them: bison copies the %union after every reduction,
 * and a pointer-sized one is copied in a register. */
typedef struct PsStr { size_t len; char s[]; } PsStr;   /* a string token's text (may hold NULs) */
typedef struct PsMap { ExprList keys, vals; } PsMap;
typedef struct PsKv { Expr *key, *val; } PsKv;
typedef struct PsBlk { const char *why; Span why_span; StmtList body; } PsBlk;
}

%code provides {
Ast *ps_parse(const char *src, size_t len, Diags *d);

/* The token stream exactly as the grammar sees it (after the newline rule),
 * for tests and tools.  Tokens and their texts live in `arena`; the list
 * ends with a token of kind 0 (end of input). */
typedef struct PsToken {
  int kind;               /* a psy_tokentype value, or a character ('+', '{') */
  Span span;
  int64_t i;              /* INT, DURATION */
  double f;               /* FLOAT */
  const char *s;          /* IDENT, STRING, STR_* */
  size_t len;
} PsToken;
size_t ps_tokens(const char *src, size_t len, Diags *d, Arena *arena, PsToken **out);
/* A token kind's name as diagnostics print it ("end of line", "'+'"). */
const char *ps_token_name(int kind);
}

%define api.pure full
%define api.prefix {psy_}
%define api.location.type {PsLoc}
%define parse.error detailed
%locations
%expect 0
%param {PsCtx *ctx}

%code {
#include <setjmp.h>
#include <string.h>

#include "vm/mem.h"

#include "grammar/lex.h"
#include "compiler/front.h"

struct PsCtx {
  void *scanner;
  LexState lex;
  Ast *ast;
  Diags *d;
  const char *src;
  size_t len;
  int last;                   /* last token handed to the parser (0 = none yet) */
  int before_last;            /* the one before it */
  int pending;                /* a token held back while an NL is inserted */
  bool has_pending;
  bool skipping;              /* recovering: dropping tokens to the statement's end */
  uint32_t skip_depth;
  PSY_STYPE pending_val;
  PsLoc pending_loc;
  struct { Expr **v; uint32_t n, cap; } minlits;   /* 9223372036854775808 literals */
  bool too_deep;
};

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                        \
  do {                                                                     \
    if (N) {                                                               \
      (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;                      \
      (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;                  \
      (Cur).first_byte = YYRHSLOC(Rhs, 1).first_byte;                      \
      (Cur).last_line = YYRHSLOC(Rhs, N).last_line;                        \
      (Cur).last_column = YYRHSLOC(Rhs, N).last_column;                    \
      (Cur).last_byte = YYRHSLOC(Rhs, N).last_byte;                        \
    } else {                                                               \
      (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line;    \
      (Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column; \
      (Cur).first_byte = (Cur).last_byte = YYRHSLOC(Rhs, 0).last_byte;     \
    }                                                                      \
  } while (0)

#define YYMAXDEPTH 5000
#define A (&ctx->ast->arena)

static int psy_lex(PSY_STYPE *lval, PsLoc *lloc, PsCtx *ctx);
static void psy_error(PsLoc *loc, PsCtx *ctx, const char *msg);
static Span sp(PsLoc l);
static Expr *mk_bin(PsCtx *ctx, Op op, Expr *a, Expr *b, PsLoc at);
static Expr *mk_un(PsCtx *ctx, Op op, Expr *a, PsLoc at);
static Expr *mk_str(PsCtx *ctx, const char *s, size_t len, PsLoc at);
static void set_depth(PsCtx *ctx, Expr *e, uint32_t child_depth);
static const char *label_of(PsCtx *ctx, Expr *e);
static TypeSet type_named(PsCtx *ctx, const char *name, PsLoc at);
static const char *rule_text(PsCtx *ctx, PsLoc at);
static void call_clause(PsCtx *ctx, Expr *call, Expr *value, PsLoc kw, bool confidence);
}

%union {
  int64_t i;
  double f;
  const char *name;     /* IDENT (interned), a keyword as a name, a plain string's text */
  PsStr *str;           /* STRING, STR_BEGIN, STR_MID, STR_END */
  Expr *e;
  ExprList *el;
  Stmt *st;
  StmtList *sl;
  NameList *nl;
  Param *param;
  ParamList *pl;
  TypeSet ty;
  Route *route;
  Checkpoint *cp;
  Timeout *to;
  ShowItem *show;
  PsKv *kv;
  PsMap *map;
  PsBlk *blk;           /* NULL when the clause is absent */
}

%token <name> IDENT "name"
%token <str> STRING "string"
%token <str> STR_BEGIN "string with {…}"
%token <str> STR_MID "middle of a string"
%token <str> STR_END "end of a string"
%token <i> INT "integer"
%token <i> INT_MIN_LIT "integer literal"
%token <i> DURATION "duration"
%token <f> FLOAT "float"
%token NL "end of line"
%token ARROW "->" EQ "==" NE "!=" LE "<=" GE ">=" IDIV "//"
%token K_PLAYBOOK "playbook" K_INPUT "input" K_PARAM "param" K_ACTION "action"
%token K_FN "fn" K_LET "let" K_IF "if" K_ELSE "else" K_WHILE "while" K_FOR "for"
%token K_IN "in" K_BREAK "break" K_CONTINUE "continue" K_RETURN "return"
%token K_FAIL "fail" K_TRY "try" K_CATCH "catch" K_STEP "step" K_LOG "log"
%token K_CHECKPOINT "checkpoint" K_SHOW "show" K_EDIT "edit" K_BY "by"
%token K_QUORUM "quorum" K_TIMEOUT "timeout" K_APPROVE "approve" K_REJECT "reject"
%token K_REVIEW "review" K_WITHIN "within" K_FLAG "flag" K_RULES "rules"
%token K_THRESHOLDS "thresholds" K_WHEN "when" K_OTHERWISE "otherwise"
%token K_AUTO "auto" K_DENY "deny" K_WITH "with" K_CONFIDENCE "confidence"
%token K_BECAUSE "because" K_FROM "from" K_SYMBOL "symbol"
%token K_IRREVERSIBLE "irreversible" K_BLAST "blast" K_COMPLIANCE "compliance"
%token K_UNDO "undo" K_AND "and" K_OR "or" K_NOT "not" K_TRUE "true"
%token K_FALSE "false" K_NIL "nil"

%left K_WITH K_BECAUSE
%left K_OR
%left K_AND
%precedence K_NOT
%nonassoc EQ NE '<' LE '>' GE K_IN
%left '+' '-'
%left '*' '/' IDIV '%'
%precedence UMINUS
%precedence '[' '.'

%type <e> expr string interp_tail map_key
%type <el> args arg_list list_items
%type <map> map_body map_list
%type <kv> map_entry
%type <st> stmt if_stmt else_part checkpoint_stmt review_stmt
%type <sl> block stmts
%type <name> name_or_kw keyword plain_string opt_reason
%type <ty> type opt_result
%type <param> param input_field
%type <pl> params param_list input_fields
%type <nl> name_list
%type <route> route approve_opts review_opts
%type <cp> checkpoint_head cp_clauses
%type <to> timeout_clause
%type <show> show_item
%type <i> dur_lit
%type <f> number
%type <blk> opt_approve opt_reject opt_flag

%%

program
  : header items
  ;

header
  : K_PLAYBOOK IDENT STRING NL {
      ctx->ast->name = $2;
      ctx->ast->name_span = sp(@2);
      ctx->ast->description = $3->s;
    }
  | error NL
  ;

items
  : %empty
  | items NL
  | items item NL
  | items error NL { yyerrok; }
  ;

item
  : decl
  | stmt { ast_push_stmt(A, &ctx->ast->body, $1); }
  ;

/* ---- declarations ------------------------------------------------------ */

decl
  : K_INPUT '{' input_fields '}' {
      Decl *d = ast_decl(A, D_INPUT, sp(@1));
      d->u.input = *$3;
      ast_push_decl(ctx->ast, d);
    }
  | K_PARAM IDENT ':' type '=' expr {
      Decl *d = ast_decl(A, D_PARAM, sp(@1));
      d->name = $2; d->name_span = sp(@2);
      d->u.param.type = $4; d->u.param.value = $6;
      ast_push_decl(ctx->ast, d);
    }
  | action_decl
  | K_FN IDENT '(' params ')' opt_result block {
      Decl *d = ast_decl(A, D_FN, sp(@1));
      d->name = $2; d->name_span = sp(@2);
      d->u.fn.params = *$4;
      d->u.fn.has_result = $6 != 0;
      d->u.fn.result = $6 ? $6 : TY_NIL;
      d->u.fn.result_span = sp(@6);
      d->u.fn.body = *$7;
      ast_push_decl(ctx->ast, d);
    }
  | K_THRESHOLDS '{' thresholds '}' { ctx->ast->decls.v[ctx->ast->decls.n - 1]->span = sp(@1); }
  | K_RULES '{' rules '}' { ctx->ast->decls.v[ctx->ast->decls.n - 1]->span = sp(@1); }
  ;

input_fields
  : %empty { $$ = arena_alloc(A, sizeof *$$); }
  | input_fields NL { $$ = $1; }
  | input_fields input_field NL { $$ = $1; ast_push_param(A, $$, *$2); }
  | input_fields error NL { $$ = $1; yyerrok; }
  ;

input_field
  : IDENT ':' type { $$ = arena_alloc(A, sizeof *$$); *$$ = (Param){ .name = $1, .span = sp(@1), .type = $3 }; }
  | IDENT ':' type '=' expr { $$ = arena_alloc(A, sizeof *$$); *$$ = (Param){ .name = $1, .span = sp(@1), .type = $3, .deflt = $5 }; }
  ;

type
  : IDENT { $$ = type_named(ctx, $1, @1); }
  | K_NIL { $$ = TY_NIL; }
  ;

opt_result
  : %empty { $$ = 0; }
  | ARROW type { $$ = $2; @$ = @2; }
  ;

params
  : %empty { $$ = arena_alloc(A, sizeof *$$); }
  | param_list { $$ = $1; }
  | param_list ',' { $$ = $1; }
  ;

param_list
  : param { $$ = arena_alloc(A, sizeof *$$); ast_push_param(A, $$, *$1); }
  | param_list ',' param { $$ = $1; ast_push_param(A, $$, *$3); }
  ;

param
  : IDENT ':' type { $$ = arena_alloc(A, sizeof *$$); *$$ = (Param){ .name = $1, .span = sp(@1), .type = $3 }; }
  ;

action_decl
  : action_head
  | action_head '{' attrs '}'
  ;

action_head
  : K_ACTION IDENT '(' params ')' opt_result {
      Decl *d = ast_decl(A, D_ACTION, sp(@1));
      d->name = $2; d->name_span = sp(@2);
      d->u.action.params = *$4;
      d->u.action.has_result = $6 != 0;
      d->u.action.result = $6 ? $6 : TY_ANY;
      d->u.action.result_span = sp(@6);
      ast_push_decl(ctx->ast, d);
    }
  | K_ACTION IDENT '(' params ')' opt_result K_FROM plain_string K_SYMBOL plain_string {
      Decl *d = ast_decl(A, D_ACTION, sp(@1));
      d->name = $2; d->name_span = sp(@2);
      d->u.action.params = *$4;
      d->u.action.has_result = $6 != 0;
      d->u.action.result = $6 ? $6 : TY_ANY;
      d->u.action.result_span = sp(@6);
      d->u.action.lib = $8; d->u.action.lib_span = sp(@8);
      d->u.action.symbol = $10;
      ast_push_decl(ctx->ast, d);
    }
  ;

/* attributes apply to the action declared last */
attrs
  : %empty
  | attrs NL
  | attrs attr
  | attrs error NL { yyerrok; }
  ;

attr
  : K_IRREVERSIBLE { ctx->ast->decls.v[ctx->ast->decls.n - 1]->u.action.irreversible = true; }
  | K_BLAST expr { ctx->ast->decls.v[ctx->ast->decls.n - 1]->u.action.blast = $2; }
  | K_COMPLIANCE plain_string {
      Decl *d = ctx->ast->decls.v[ctx->ast->decls.n - 1];
      d->u.action.compliance = $2; d->u.action.compliance_span = sp(@2);
    }
  | K_EDIT name_list {
      Decl *d = ctx->ast->decls.v[ctx->ast->decls.n - 1];
      if (d->u.action.has_edit) {
        for (uint32_t i = 0; i < $2->n; i++) ast_push_name(A, &d->u.action.edit, $2->v[i], $2->spans[i]);
      } else {
        d->u.action.has_edit = true; d->u.action.edit = *$2;
      }
    }
  | K_UNDO IDENT {
      Decl *d = ctx->ast->decls.v[ctx->ast->decls.n - 1];
      d->u.action.undo = $2; d->u.action.undo_span = sp(@2);
    }
  ;

name_list
  : IDENT { $$ = arena_alloc(A, sizeof *$$); ast_push_name(A, $$, $1, sp(@1)); }
  | name_list ',' IDENT { $$ = $1; ast_push_name(A, $$, $3, sp(@3)); }
  ;

plain_string
  : STRING { $$ = $1->s; }
  ;

thresholds
  : %empty {
      Decl *d = ast_decl(A, D_THRESHOLDS, sp(@$));
      ast_push_decl(ctx->ast, d);
    }
  | thresholds NL
  | thresholds IDENT number NL {
      Decl *d = ctx->ast->decls.v[ctx->ast->decls.n - 1];
      if (d->u.thresholds.n == d->u.thresholds.cap) {
        uint32_t nc = d->u.thresholds.cap ? d->u.thresholds.cap * 2 : 4;
        d->u.thresholds.v = arena_grow(A, d->u.thresholds.v, sizeof(Threshold), d->u.thresholds.n, nc);
        d->u.thresholds.cap = nc;
      }
      d->u.thresholds.v[d->u.thresholds.n++] = (Threshold){ $2, sp(@2), $3, sp(@3) };
    }
  | thresholds error NL { yyerrok; }
  ;

number
  : FLOAT { $$ = $1; }
  | INT { $$ = (double)$1; }
  ;

rules
  : %empty {
      Decl *d = ast_decl(A, D_RULES, sp(@$));
      ast_push_decl(ctx->ast, d);
    }
  | rules NL
  | rules rule NL
  | rules error NL { yyerrok; }
  ;

rule
  : K_WHEN expr ARROW route {
      Decl *d = ctx->ast->decls.v[ctx->ast->decls.n - 1];
      if (d->u.rules.n == d->u.rules.cap) {
        uint32_t nc = d->u.rules.cap ? d->u.rules.cap * 2 : 4;
        d->u.rules.v = arena_grow(A, d->u.rules.v, sizeof(Rule), d->u.rules.n, nc);
        d->u.rules.cap = nc;
      }
      d->u.rules.v[d->u.rules.n++] = (Rule){ sp(@1), $2, *$4, rule_text(ctx, @$) };
    }
  | K_OTHERWISE ARROW route {
      Decl *d = ctx->ast->decls.v[ctx->ast->decls.n - 1];
      if (d->u.rules.n == d->u.rules.cap) {
        uint32_t nc = d->u.rules.cap ? d->u.rules.cap * 2 : 4;
        d->u.rules.v = arena_grow(A, d->u.rules.v, sizeof(Rule), d->u.rules.n, nc);
        d->u.rules.cap = nc;
      }
      d->u.rules.v[d->u.rules.n++] = (Rule){ sp(@1), NULL, *$3, rule_text(ctx, @$) };
    }
  ;

route
  : K_AUTO { $$ = arena_alloc(A, sizeof *$$); $$->kind = R_AUTO; $$->span = sp(@1); $$->within = -1; }
  | K_APPROVE approve_opts { $$ = $2; $$->span = sp(@1); }
  | K_REVIEW review_opts { $$ = $2; $$->span = sp(@1); }
  | K_DENY { $$ = arena_alloc(A, sizeof *$$); $$->kind = R_DENY; $$->span = sp(@1); $$->within = -1; }
  | K_DENY plain_string {
      $$ = arena_alloc(A, sizeof *$$); $$->kind = R_DENY; $$->span = sp(@1); $$->within = -1;
      $$->message = $2;
    }
  ;

approve_opts
  : %empty { $$ = arena_alloc(A, sizeof *$$); $$->kind = R_APPROVE; $$->within = -1; }
  | approve_opts K_BY plain_string { $$ = $1; $$->by = $3; $$->by_span = sp(@3); }
  | approve_opts K_QUORUM INT { $$ = $1; $$->quorum = $3; $$->quorum_span = sp(@3); }
  | approve_opts timeout_clause { $$ = $1; $$->timeout = *$2; }
  ;

review_opts
  : %empty { $$ = arena_alloc(A, sizeof *$$); $$->kind = R_REVIEW; $$->within = -1; }
  | review_opts K_WITHIN dur_lit { $$ = $1; $$->within = $3; $$->within_span = sp(@3); }
  | review_opts K_BY plain_string { $$ = $1; $$->by = $3; $$->by_span = sp(@3); }
  ;

timeout_clause
  : K_TIMEOUT dur_lit ARROW K_APPROVE opt_reason {
      $$ = arena_alloc(A, sizeof *$$);
      *$$ = (Timeout){ .present = true, .seconds = $2, .verdict = VK_APPROVE, .reason = $5, .span = sp(@2) };
    }
  | K_TIMEOUT dur_lit ARROW K_REJECT opt_reason {
      $$ = arena_alloc(A, sizeof *$$);
      *$$ = (Timeout){ .present = true, .seconds = $2, .verdict = VK_REJECT, .reason = $5, .span = sp(@2) };
    }
  ;

opt_reason
  : %empty { $$ = NULL; }
  | plain_string { $$ = $1; }
  ;

dur_lit
  : DURATION { $$ = $1; }
  | INT { $$ = $1; }
  ;

/* ---- statements -------------------------------------------------------- */

block
  : '{' stmts '}' { $$ = $2; }
  ;

stmts
  : %empty { $$ = arena_alloc(A, sizeof *$$); }
  | stmts NL { $$ = $1; }
  | stmts stmt NL { $$ = $1; ast_push_stmt(A, $$, $2); }
  | stmts error NL { $$ = $1; yyerrok; }
  ;

stmt
  : K_LET IDENT '=' expr {
      $$ = ast_stmt(A, S_LET, sp(@1));
      $$->u.let.name = $2; $$->u.let.name_span = sp(@2); $$->u.let.value = $4; $$->u.let.type = TY_ANY;
    }
  | K_LET IDENT ':' type '=' expr {
      $$ = ast_stmt(A, S_LET, sp(@1));
      $$->u.let.name = $2; $$->u.let.name_span = sp(@2); $$->u.let.value = $6;
      $$->u.let.type = $4; $$->u.let.typed = true;
    }
  | K_LET IDENT '=' checkpoint_head {
      $$ = ast_stmt(A, S_LET, sp(@1));
      Expr *e = ast_expr(A, E_CHECKPOINT, sp(@4)); e->u.cp = $4;
      $$->u.let.name = $2; $$->u.let.name_span = sp(@2); $$->u.let.value = e; $$->u.let.type = TY_ANY;
    }
  | K_LET IDENT ':' type '=' checkpoint_head {
      $$ = ast_stmt(A, S_LET, sp(@1));
      Expr *e = ast_expr(A, E_CHECKPOINT, sp(@6)); e->u.cp = $6;
      $$->u.let.name = $2; $$->u.let.name_span = sp(@2); $$->u.let.value = e;
      $$->u.let.type = $4; $$->u.let.typed = true;
    }
  | expr '=' expr {
      $$ = ast_stmt(A, S_ASSIGN, $1->span);
      $$->u.assign.target = $1; $$->u.assign.value = $3;
      if ($1->kind != E_NAME && $1->kind != E_FIELD && $1->kind != E_INDEX)
        diag_error(ctx->d, $1->span, "cannot be assigned: the left of '=' must be a name, a field or an index");
    }
  | expr '=' checkpoint_head {
      $$ = ast_stmt(A, S_ASSIGN, $1->span);
      Expr *e = ast_expr(A, E_CHECKPOINT, sp(@3)); e->u.cp = $3;
      $$->u.assign.target = $1; $$->u.assign.value = e;
      if ($1->kind != E_NAME && $1->kind != E_FIELD && $1->kind != E_INDEX)
        diag_error(ctx->d, $1->span, "cannot be assigned: the left of '=' must be a name, a field or an index");
    }
  | expr { $$ = ast_stmt(A, S_EXPR, $1->span); $$->u.ret.value = $1; }
  | if_stmt
  | K_WHILE expr block {
      $$ = ast_stmt(A, S_WHILE, sp(@1)); $$->u.while_.cond = $2; $$->u.while_.body = *$3;
    }
  | K_FOR IDENT K_IN expr block {
      $$ = ast_stmt(A, S_FOR, sp(@1));
      $$->u.for_.key = $2; $$->u.for_.key_span = sp(@2);
      $$->u.for_.iter = $4; $$->u.for_.body = *$5;
    }
  | K_FOR IDENT ',' IDENT K_IN expr block {
      $$ = ast_stmt(A, S_FOR, sp(@1));
      $$->u.for_.key = $2; $$->u.for_.key_span = sp(@2);
      $$->u.for_.val = $4; $$->u.for_.val_span = sp(@4);
      $$->u.for_.iter = $6; $$->u.for_.body = *$7;
    }
  | K_BREAK { $$ = ast_stmt(A, S_BREAK, sp(@1)); }
  | K_CONTINUE { $$ = ast_stmt(A, S_CONTINUE, sp(@1)); }
  | K_RETURN { $$ = ast_stmt(A, S_RETURN, sp(@1)); }
  | K_RETURN expr { $$ = ast_stmt(A, S_RETURN, sp(@1)); $$->u.ret.value = $2; }
  | K_FAIL expr { $$ = ast_stmt(A, S_FAIL, sp(@1)); $$->u.ret.value = $2; }
  | K_LOG expr { $$ = ast_stmt(A, S_LOG, sp(@1)); $$->u.ret.value = $2; }
  | K_TRY block K_CATCH IDENT block {
      $$ = ast_stmt(A, S_TRY, sp(@1));
      $$->u.try_.body = *$2; $$->u.try_.name = $4; $$->u.try_.name_span = sp(@4); $$->u.try_.handler = *$5;
    }
  | K_STEP expr block {
      $$ = ast_stmt(A, S_STEP, sp(@1)); $$->u.step.title = $2; $$->u.step.body = *$3;
    }
  | checkpoint_stmt
  | review_stmt
  ;

if_stmt
  : K_IF expr block else_part {
      $$ = ast_stmt(A, S_IF, sp(@1));
      $$->u.if_.cond = $2; $$->u.if_.body = *$3; $$->u.if_.els = $4;
    }
  ;

else_part
  : %empty { $$ = NULL; }
  | K_ELSE block { $$ = ast_stmt(A, S_BLOCK, sp(@1)); $$->u.block = *$2; }
  | K_ELSE if_stmt { $$ = $2; }
  ;

checkpoint_head
  : K_CHECKPOINT expr '{' cp_clauses '}' { $$ = $4; $$->span = sp(@1); $$->title = $2; }
  ;

cp_clauses
  : %empty { $$ = ast_checkpoint(A, sp(@$)); }
  | cp_clauses NL { $$ = $1; }
  | cp_clauses K_SHOW show_items { $$ = $1; }
  | cp_clauses K_EDIT name_list {
      $$ = $1;
      for (uint32_t i = 0; i < $3->n; i++) ast_push_name(A, &$$->edit, $3->v[i], $3->spans[i]);
    }
  | cp_clauses K_BY plain_string { $$ = $1; $$->by = $3; $$->by_span = sp(@3); }
  | cp_clauses K_QUORUM INT { $$ = $1; $$->quorum = $3; $$->quorum_span = sp(@3); }
  | cp_clauses timeout_clause { $$ = $1; $$->timeout = *$2; }
  | cp_clauses error NL { $$ = $1; yyerrok; }
  ;

/* show items are added to the checkpoint being built: it is $0 here, the
 * cp_clauses value on the stack just below `show` */
show_items
  : show_item {
      Checkpoint *c = $<cp>-1;
      if (c->nshow == c->capshow) {
        uint32_t nc = c->capshow ? c->capshow * 2 : 4;
        c->show = arena_grow(A, c->show, sizeof *c->show, c->nshow, nc);
        c->capshow = nc;
      }
      c->show[c->nshow++] = *$1;
    }
  | show_items ',' show_item {
      Checkpoint *c = $<cp>-1;
      if (c->nshow == c->capshow) {
        uint32_t nc = c->capshow ? c->capshow * 2 : 4;
        c->show = arena_grow(A, c->show, sizeof *c->show, c->nshow, nc);
        c->capshow = nc;
      }
      c->show[c->nshow++] = *$3;
    }
  ;

show_item
  : expr {
      $$ = arena_alloc(A, sizeof *$$);
      $$->value = $1; $$->span = $1->span;
      $$->label = label_of(ctx, $1);
      if (!$$->label) {
        diag_error(ctx->d, $1->span, "a show item that is not a name or field needs a label");
        diag_hint(ctx->d, "write label: expression");
      }
    }
  | name_or_kw ':' expr { $$ = arena_alloc(A, sizeof *$$); $$->label = $1; $$->span = sp(@1); $$->value = $3; }
  ;

opt_approve
  : %empty { $$ = NULL; }
  | K_APPROVE block { $$ = arena_alloc(A, sizeof *$$); $$->body = *$2; }
  ;

opt_reject
  : %empty { $$ = NULL; }
  | K_REJECT block { $$ = arena_alloc(A, sizeof *$$); $$->body = *$2; }
  | K_REJECT '(' IDENT ')' block {
      $$ = arena_alloc(A, sizeof *$$); $$->why = $3; $$->why_span = sp(@3); $$->body = *$5;
    }
  ;

checkpoint_stmt
  : checkpoint_head opt_approve opt_reject {
      $$ = ast_stmt(A, S_CHECKPOINT, $1->span);
      $$->u.checkpoint.cp = $1;
      if ($2) { $$->u.checkpoint.has_approve = true; $$->u.checkpoint.approve = $2->body; }
      if ($3) {
        $$->u.checkpoint.has_reject = true; $$->u.checkpoint.reject = $3->body;
        $$->u.checkpoint.why = $3->why; $$->u.checkpoint.why_span = $3->why_span;
      }
    }
  ;

review_stmt
  : K_REVIEW expr review_opts block opt_flag {
      $$ = ast_stmt(A, S_REVIEW, sp(@1));
      $$->u.review.title = $2;
      $$->u.review.within = $3->within; $$->u.review.within_span = $3->within_span;
      $$->u.review.by = $3->by; $$->u.review.by_span = $3->by_span;
      $$->u.review.body = *$4;
      if ($5) {
        $$->u.review.has_flag = true; $$->u.review.why = $5->why;
        $$->u.review.why_span = $5->why_span; $$->u.review.flag = $5->body;
      }
    }
  ;

opt_flag
  : %empty { $$ = NULL; }
  | K_FLAG block { $$ = arena_alloc(A, sizeof *$$); $$->body = *$2; }
  | K_FLAG '(' IDENT ')' block {
      $$ = arena_alloc(A, sizeof *$$); $$->why = $3; $$->why_span = sp(@3); $$->body = *$5;
    }
  ;

/* ---- expressions ------------------------------------------------------- */

expr
  : expr K_OR expr { $$ = mk_bin(ctx, OP_OR, $1, $3, @2); }
  | expr K_AND expr { $$ = mk_bin(ctx, OP_AND, $1, $3, @2); }
  | K_NOT expr { $$ = mk_un(ctx, OP_NOT, $2, @1); }
  | expr EQ expr { $$ = mk_bin(ctx, OP_EQ, $1, $3, @2); }
  | expr NE expr { $$ = mk_bin(ctx, OP_NE, $1, $3, @2); }
  | expr '<' expr { $$ = mk_bin(ctx, OP_LT, $1, $3, @2); }
  | expr LE expr { $$ = mk_bin(ctx, OP_LE, $1, $3, @2); }
  | expr '>' expr { $$ = mk_bin(ctx, OP_GT, $1, $3, @2); }
  | expr GE expr { $$ = mk_bin(ctx, OP_GE, $1, $3, @2); }
  | expr K_IN expr { $$ = mk_bin(ctx, OP_IN, $1, $3, @2); }
  | expr '+' expr { $$ = mk_bin(ctx, OP_ADD, $1, $3, @2); }
  | expr '-' expr { $$ = mk_bin(ctx, OP_SUB, $1, $3, @2); }
  | expr '*' expr { $$ = mk_bin(ctx, OP_MUL, $1, $3, @2); }
  | expr '/' expr { $$ = mk_bin(ctx, OP_DIV, $1, $3, @2); }
  | expr IDIV expr { $$ = mk_bin(ctx, OP_IDIV, $1, $3, @2); }
  | expr '%' expr { $$ = mk_bin(ctx, OP_MOD, $1, $3, @2); }
  | '-' expr %prec UMINUS { $$ = mk_un(ctx, OP_NEG, $2, @1); }
  | expr K_WITH K_CONFIDENCE expr %prec K_WITH { $$ = $1; call_clause(ctx, $1, $4, @2, true); }
  | expr K_BECAUSE expr { $$ = $1; call_clause(ctx, $1, $3, @2, false); }
  /* Postfix operators bind tightest ('[' and '.' have the highest
   * precedence), and the atoms are alternatives of expr itself rather than
   * of a chain expr <- postfix <- primary: an atom costs the parser one
   * reduction, not three. */
  | expr '[' expr ']' {
      $$ = ast_expr(A, E_INDEX, sp(@2));
      $$->u.index.a = $1; $$->u.index.b = $3;
      set_depth(ctx, $$, $1->depth > $3->depth ? $1->depth : $3->depth);
    }
  | expr '.' name_or_kw {
      $$ = ast_expr(A, E_FIELD, sp(@2));
      $$->u.field.a = $1; $$->u.field.name = $3; $$->u.field.name_span = sp(@3);
      set_depth(ctx, $$, $1->depth);
    }
  | INT { $$ = ast_expr(A, E_INT, sp(@1)); $$->u.i = $1; }
  | INT_MIN_LIT {
      $$ = ast_expr(A, E_INT, sp(@1)); $$->u.i = INT64_MIN;
      /* valid only right after a unary minus, which takes it off this list */
      if (ctx->minlits.n == ctx->minlits.cap) {
        uint32_t nc = ctx->minlits.cap ? ctx->minlits.cap * 2 : 4;
        ctx->minlits.v = arena_grow(A, ctx->minlits.v, sizeof(Expr *), ctx->minlits.n, nc);
        ctx->minlits.cap = nc;
      }
      ctx->minlits.v[ctx->minlits.n++] = $$;
    }
  | DURATION { $$ = ast_expr(A, E_INT, sp(@1)); $$->u.i = $1; }
  | FLOAT { $$ = ast_expr(A, E_FLOAT, sp(@1)); $$->u.f = $1; }
  | K_TRUE { $$ = ast_expr(A, E_BOOL, sp(@1)); $$->u.b = true; }
  | K_FALSE { $$ = ast_expr(A, E_BOOL, sp(@1)); $$->u.b = false; }
  | K_NIL { $$ = ast_expr(A, E_NIL, sp(@1)); }
  | string
  | IDENT { $$ = ast_expr(A, E_NAME, sp(@1)); $$->u.name.name = $1; $$->u.name.slot = -1; }
  /* the risk-context keywords read as names (the checker allows them in rules) */
  | K_ACTION { $$ = ast_expr(A, E_NAME, sp(@1)); $$->u.name.name = "action"; $$->u.name.slot = -1; }
  | K_IRREVERSIBLE { $$ = ast_expr(A, E_NAME, sp(@1)); $$->u.name.name = "irreversible"; $$->u.name.slot = -1; }
  | K_BLAST { $$ = ast_expr(A, E_NAME, sp(@1)); $$->u.name.name = "blast"; $$->u.name.slot = -1; }
  | K_COMPLIANCE { $$ = ast_expr(A, E_NAME, sp(@1)); $$->u.name.name = "compliance"; $$->u.name.slot = -1; }
  | K_CONFIDENCE { $$ = ast_expr(A, E_NAME, sp(@1)); $$->u.name.name = "confidence"; $$->u.name.slot = -1; }
  | IDENT '(' args ')' {
      $$ = ast_expr(A, E_CALL, sp(@1));
      $$->u.call.name = $1; $$->u.call.args = *$3;
      uint32_t d = 0;
      for (uint32_t i = 0; i < $3->n; i++) if ($3->v[i]->depth > d) d = $3->v[i]->depth;
      set_depth(ctx, $$, d);
    }
  | '(' expr ')' { $$ = $2; }
  | '[' list_items ']' {
      $$ = ast_expr(A, E_LIST, sp(@1)); $$->u.list = *$2;
      uint32_t d = 0;
      for (uint32_t i = 0; i < $2->n; i++) if ($2->v[i]->depth > d) d = $2->v[i]->depth;
      set_depth(ctx, $$, d);
    }
  | '{' map_body '}' {
      $$ = ast_expr(A, E_MAP, sp(@1));
      $$->u.map.keys = $2->keys; $$->u.map.vals = $2->vals;
      uint32_t d = 0;
      for (uint32_t i = 0; i < $2->vals.n; i++) if ($2->vals.v[i]->depth > d) d = $2->vals.v[i]->depth;
      set_depth(ctx, $$, d);
    }
  ;

string
  : STRING { $$ = mk_str(ctx, $1->s, $1->len, @1); }
  | STR_BEGIN interp_tail {
      $$ = $2;
      $$->span = sp(@1);
      /* the parts were collected back to front by interp_tail */
      Expr *head = mk_str(ctx, $1->s, $1->len, @1);
      ExprList *l = &$$->u.list;
      ast_push_expr(A, l, head);
      for (uint32_t i = 0, j = l->n - 1; i < j; i++, j--) {
        Expr *t = l->v[i]; l->v[i] = l->v[j]; l->v[j] = t;
      }
      uint32_t d = 0;
      for (uint32_t i = 0; i < l->n; i++) if (l->v[i]->depth > d) d = l->v[i]->depth;
      set_depth(ctx, $$, d);
    }
  ;

interp_tail
  : expr STR_END {
      $$ = ast_expr(A, E_INTERP, sp(@1));
      ast_push_expr(A, &$$->u.list, mk_str(ctx, $2->s, $2->len, @2));
      ast_push_expr(A, &$$->u.list, $1);
    }
  | expr STR_MID interp_tail {
      $$ = $3;
      ast_push_expr(A, &$$->u.list, mk_str(ctx, $2->s, $2->len, @2));
      ast_push_expr(A, &$$->u.list, $1);
    }
  ;

args
  : %empty { $$ = arena_alloc(A, sizeof *$$); }
  | arg_list { $$ = $1; }
  | arg_list ',' { $$ = $1; }
  ;

arg_list
  : expr { $$ = arena_alloc(A, sizeof *$$); ast_push_expr(A, $$, $1); }
  | arg_list ',' expr { $$ = $1; ast_push_expr(A, $$, $3); }
  ;

list_items
  : args { $$ = $1; }
  ;

map_body
  : %empty { $$ = arena_alloc(A, sizeof *$$); }
  | map_list { $$ = $1; }
  | map_list ',' { $$ = $1; }
  | map_list NL { $$ = $1; }
  ;

map_list
  : map_entry {
      $$ = arena_alloc(A, sizeof *$$);
      ast_push_expr(A, &$$->keys, $1->key); ast_push_expr(A, &$$->vals, $1->val);
    }
  | map_list ',' map_entry {
      $$ = $1;
      ast_push_expr(A, &$$->keys, $3->key); ast_push_expr(A, &$$->vals, $3->val);
    }
  ;

map_entry
  : map_key ':' expr { $$ = arena_alloc(A, sizeof *$$); $$->key = $1; $$->val = $3; }
  ;

map_key
  : name_or_kw { $$ = mk_str(ctx, $1, strlen($1), @1); }
  | string
  ;

name_or_kw
  : IDENT { $$ = $1; }
  | keyword { $$ = $1; }
  ;

keyword
  : K_PLAYBOOK { $$ = "playbook"; }
  | K_INPUT { $$ = "input"; }
  | K_PARAM { $$ = "param"; }
  | K_ACTION { $$ = "action"; }
  | K_FN { $$ = "fn"; }
  | K_LET { $$ = "let"; }
  | K_IF { $$ = "if"; }
  | K_ELSE { $$ = "else"; }
  | K_WHILE { $$ = "while"; }
  | K_FOR { $$ = "for"; }
  | K_IN { $$ = "in"; }
  | K_BREAK { $$ = "break"; }
  | K_CONTINUE { $$ = "continue"; }
  | K_RETURN { $$ = "return"; }
  | K_FAIL { $$ = "fail"; }
  | K_TRY { $$ = "try"; }
  | K_CATCH { $$ = "catch"; }
  | K_STEP { $$ = "step"; }
  | K_LOG { $$ = "log"; }
  | K_CHECKPOINT { $$ = "checkpoint"; }
  | K_SHOW { $$ = "show"; }
  | K_EDIT { $$ = "edit"; }
  | K_BY { $$ = "by"; }
  | K_QUORUM { $$ = "quorum"; }
  | K_TIMEOUT { $$ = "timeout"; }
  | K_APPROVE { $$ = "approve"; }
  | K_REJECT { $$ = "reject"; }
  | K_REVIEW { $$ = "review"; }
  | K_WITHIN { $$ = "within"; }
  | K_FLAG { $$ = "flag"; }
  | K_RULES { $$ = "rules"; }
  | K_THRESHOLDS { $$ = "thresholds"; }
  | K_WHEN { $$ = "when"; }
  | K_OTHERWISE { $$ = "otherwise"; }
  | K_AUTO { $$ = "auto"; }
  | K_DENY { $$ = "deny"; }
  | K_WITH { $$ = "with"; }
  | K_CONFIDENCE { $$ = "confidence"; }
  | K_BECAUSE { $$ = "because"; }
  | K_FROM { $$ = "from"; }
  | K_SYMBOL { $$ = "symbol"; }
  | K_IRREVERSIBLE { $$ = "irreversible"; }
  | K_BLAST { $$ = "blast"; }
  | K_COMPLIANCE { $$ = "compliance"; }
  | K_UNDO { $$ = "undo"; }
  | K_AND { $$ = "and"; }
  | K_OR { $$ = "or"; }
  | K_NOT { $$ = "not"; }
  | K_TRUE { $$ = "true"; }
  | K_FALSE { $$ = "false"; }
  | K_NIL { $$ = "nil"; }
  ;

%%

static jmp_buf *ps_oom_jmp;

_Noreturn void ps_oom(void);
_Noreturn void ps_oom(void) { longjmp(*ps_oom_jmp, 1); }

static Span sp(PsLoc l) {
  Span s = { l.first_line, l.first_column, 0 };
  if (l.last_line == l.first_line && l.last_column > l.first_column)
    s.len = l.last_column - l.first_column;
  return s;
}

/* tokens after which a newline does not end anything (LANGUAGE.md §1) */
static bool ps_continues(int t) {
  switch (t) {
    case '+': case '-': case '*': case '/': case IDIV: case '%':
    case EQ: case NE: case '<': case LE: case '>': case GE: case '=':
    case ARROW: case '.': case ':': case ',': case '(': case '[': case '{':
    case K_AND: case K_OR: case K_NOT: case K_IN: case K_WITH: case K_BECAUSE:
    case K_FROM: case K_SYMBOL: case K_WHEN: case K_BY: case K_WITHIN:
    case K_QUORUM: case K_TIMEOUT: case STR_BEGIN: case STR_MID:
    case NL: case 0:
      return true;
    default:
      return false;
  }
}

/* One token for the grammar: the scanner's, less the newlines that do not
 * end anything, plus an NL before every `}` and before the end. */
static int ps_next(PSY_STYPE *lval, PsLoc *lloc, PsCtx *ctx) {
  int t;
  if (ctx->has_pending) {
    ctx->has_pending = false;
    *lval = ctx->pending_val;
    *lloc = ctx->pending_loc;
    return ctx->pending;
  }
  for (;;) {
    ctx->lex.unmatched = false;
    ctx->lex.hard_nl = false;
    t = ctx->lex.stop ? 0 : lex_raw(lval, lloc, ctx->scanner);
    if (t == NL) {
      if (ctx->last == NL || ctx->last == 0) continue;        /* blank lines, the start */
      if (!ctx->lex.hard_nl &&
          ((ps_continues(ctx->last) && ctx->before_last != '.') || lex_in_parens(&ctx->lex)))
        continue;
    }
    /* closing brackets whose openers recovery dropped, or met while skipping */
    if (ctx->lex.unmatched) {
      if ((t == ')' || t == ']') && ctx->lex.dropped) { ctx->lex.dropped--; continue; }
      if (t == '}' && ctx->skipping) continue;
    }
    break;
  }
  if ((t == '}' || t == 0) && (!ps_continues(ctx->last) || ctx->before_last == '.')) {
    /* end the last statement of the block (or of the file) */
    ctx->pending = t;
    ctx->has_pending = true;
    ctx->pending_val = *lval;
    ctx->pending_loc = *lloc;
    lloc->last_line = lloc->first_line;
    lloc->last_column = lloc->first_column;
    lloc->last_byte = lloc->first_byte;
    t = NL;
  }
  return t;
}

static uint32_t ps_brace_depth(const PsCtx *ctx) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < ctx->lex.depth; i++) n += ctx->lex.stack[i].kind == '{';
  return n;
}

static int psy_lex(PSY_STYPE *lval, PsLoc *lloc, PsCtx *ctx) {
  int t;
  for (;;) {
    t = ps_next(lval, lloc, ctx);
    /* after '.', a keyword is a field name: it ends a line like a name */
    ctx->before_last = ctx->last;
    ctx->last = t;
    if (!ctx->skipping) break;
    /* after a syntax error: skip to the end of the statement at the depth of
     * the error, passing over whole blocks, so recovery does not stop inside
     * a block and then trip over its closing brace */
    /* an NL inserted before a `}`: the scanner has already closed that brace */
    uint32_t depth = ps_brace_depth(ctx) + (ctx->has_pending && ctx->pending == '}');
    if (t == 0 || (t == NL && depth <= ctx->skip_depth) || (t == '}' && depth < ctx->skip_depth)) {
      ctx->skipping = false;
      break;
    }
  }
  return t;
}

static void psy_error(PsLoc *loc, PsCtx *ctx, const char *msg) {
  if (ctx->lex.stop) return;
  /* an unclosed ( or [ would hide every later newline from recovery */
  lex_drop_parens(&ctx->lex);
  /* skip the rest of the statement, unless the offending token ends it */
  if (ctx->last != NL && ctx->last != 0 && ctx->last != '}') {
    ctx->skipping = true;
    ctx->skip_depth = ps_brace_depth(ctx) - (ctx->last == '{' ? 1 : 0);
  }
  /* a lexical error on this line already explains it */
  if (ctx->lex.error_line && ctx->lex.error_line == loc->first_line) return;
  if (ctx->last == 0) {
    /* the end of the file inside a block: point at the brace left open */
    for (uint32_t i = ctx->lex.depth; i > 0; i--) {
      if (ctx->lex.stack[i - 1].kind == '{') {
        diag_error(ctx->d, sp(ctx->lex.stack[i - 1].loc), "this '{' is never closed");
        diag_hint(ctx->d, "add the missing '}'");
        return;
      }
    }
  }
  if (strcmp(msg, "memory exhausted") == 0) {
    diag_error(ctx->d, sp(*loc), "expression nested too deeply");
    ctx->lex.stop = true;
    return;
  }
  diag_error(ctx->d, sp(*loc), "%s", msg);
  if (strstr(msg, "unexpected else") && ctx->last == K_ELSE)
    diag_hint(ctx->d, "'else' goes on the same line as the closing '}'");
}

static void set_depth(PsCtx *ctx, Expr *e, uint32_t child_depth) {
  e->depth = child_depth < UINT16_MAX ? child_depth + 1 : UINT16_MAX;   /* a 16-bit field */
  if (e->depth > FRONT_MAX_EXPR_DEPTH && !ctx->too_deep) {
    ctx->too_deep = true;
    ctx->lex.stop = true;   /* stop reading: the rest would only cost memory */
    diag_error(ctx->d, e->span, "expression nested too deeply (more than %d levels)", FRONT_MAX_EXPR_DEPTH);
  }
}

static Expr *mk_bin(PsCtx *ctx, Op op, Expr *a, Expr *b, PsLoc at) {
  Expr *e = ast_expr(A, E_BINARY, sp(at));
  e->u.op.op = op;
  e->u.op.a = a;
  e->u.op.b = b;
  set_depth(ctx, e, a->depth > b->depth ? a->depth : b->depth);
  return e;
}

static Expr *mk_un(PsCtx *ctx, Op op, Expr *a, PsLoc at) {
  if (op == OP_NEG && a->kind == E_INT) {
    /* fold -literal so constants stay constants; 2^63 is valid only here */
    for (uint32_t i = 0; i < ctx->minlits.n; i++) {
      if (ctx->minlits.v[i] == a) {
        ctx->minlits.v[i] = ctx->minlits.v[--ctx->minlits.n];
        a->span = sp(at);
        return a;
      }
    }
    if (a->u.i != INT64_MIN) {
      a->u.i = -a->u.i;
      a->span = sp(at);
      return a;
    }
  }
  if (op == OP_NEG && a->kind == E_FLOAT) {
    a->u.f = -a->u.f;
    a->span = sp(at);
    return a;
  }
  Expr *e = ast_expr(A, E_UNARY, sp(at));
  e->u.op.op = op;
  e->u.op.a = a;
  set_depth(ctx, e, a->depth);
  return e;
}

static Expr *mk_str(PsCtx *ctx, const char *s, size_t len, PsLoc at) {
  Expr *e = ast_expr(A, E_STRING, sp(at));
  e->u.str.s = s;
  e->u.str.len = len;
  return e;
}

static void call_clause(PsCtx *ctx, Expr *call, Expr *value, PsLoc kw, bool confidence) {
  const char *what = confidence ? "with confidence" : "because";
  if (call->kind != E_CALL) {
    diag_error(ctx->d, sp(kw), "'%s' must follow an action call", what);
    return;
  }
  CallClauses *cl = call->u.call.clauses;
  if (!cl) cl = call->u.call.clauses = arena_alloc(A, sizeof *cl);
  Expr **slot = confidence ? &cl->confidence : &cl->because;
  if (*slot) {
    diag_error(ctx->d, sp(kw), "'%s' is given twice for this call", what);
    return;
  }
  *slot = value;
  if (confidence) cl->confidence_span = sp(kw);
  else cl->because_span = sp(kw);
  if (value->depth + 1 > call->depth) set_depth(ctx, call, value->depth);
}

/* "order.id" for a name or a chain of fields; NULL for anything else */
static const char *label_of(PsCtx *ctx, Expr *e) {
  if (e->kind == E_NAME) return e->u.name.name;
  if (e->kind == E_FIELD) {
    const char *base = label_of(ctx, e->u.field.a);
    return base ? arena_printf(A, "%s.%s", base, e->u.field.name) : NULL;
  }
  return NULL;
}

static TypeSet type_named(PsCtx *ctx, const char *name, PsLoc at) {
  TypeSet t = ast_type_from_name(name);
  if (!t) {
    diag_error(ctx->d, sp(at), "unknown type '%s'", name);
    diag_hint(ctx->d, "the types are nil bool int float string list map any");
    t = TY_ANY;
  }
  return t;
}

/* the rule's source text with runs of blanks collapsed to one space */
static const char *rule_text(PsCtx *ctx, PsLoc at) {
  size_t a = at.first_byte, b = at.last_byte;
  if (b > ctx->len) b = ctx->len;
  if (a > b) a = b;
  char *out = arena_alloc(A, b - a + 1);
  size_t n = 0;
  bool blank = false;
  for (size_t i = a; i < b; i++) {
    char c = ctx->src[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { blank = true; continue; }
    if (blank && n) out[n++] = ' ';
    blank = false;
    out[n++] = c;
  }
  out[n] = 0;
  return out;
}

Ast *ps_parse(const char *src, size_t len, Diags *d) {
  Ast *ast = mem_alloc(sizeof *ast);
  if (!ast) {
    diag_error(d, (Span){1, 1, 0}, "out of memory");
    return NULL;
  }
  memset(ast, 0, sizeof *ast);
  arena_init(&ast->arena);

  /* volatile: read after longjmp */
  PsCtx *volatile ctx = NULL;
  jmp_buf jb, *saved = ps_oom_jmp;
  jmp_buf *saved_diag = d->arena.oom;
  ps_oom_jmp = &jb;
  ast->arena.oom = &jb;
  if (setjmp(jb)) {
    /* out of memory somewhere below: give up on this source */
    ps_oom_jmp = saved;
    ast->arena.oom = NULL;
    d->arena.oom = saved_diag;
    if (ctx) {
      lex_abandon(&ctx->lex);
      mem_free(ctx->lex.buf, ctx->lex.bcap);
    }
    diag_error(d, (Span){1, 1, 0}, "out of memory while parsing");
    return ast;
  }
  d->arena.oom = &jb;

  ctx = arena_alloc(&ast->arena, sizeof *ctx);
  ctx->ast = ast;
  ctx->d = d;
  ctx->src = src;
  ctx->len = len;
  ctx->lex.d = d;
  ctx->lex.arena = &ast->arena;
  ctx->lex.line = 1;
  ctx->lex.col = 1;

  if (len > INT32_MAX) {
    diag_error(d, (Span){1, 1, 0}, "source too large (more than 2 GiB)");
  } else {
    lex_open(&ctx->lex, src, len, &ctx->scanner);
    psy_parse(ctx);
    lex_close(ctx->scanner);
    ctx->scanner = NULL;
  }
  mem_free(ctx->lex.buf, ctx->lex.bcap);
  ctx->lex.buf = NULL;

  for (uint32_t i = 0; i < ctx->minlits.n; i++)
    diag_error(d, ctx->minlits.v[i]->span, "integer literal too large (the largest int is 9223372036854775807)");

  ps_oom_jmp = saved;
  ast->arena.oom = NULL;
  d->arena.oom = saved_diag;
  return ast;
}

size_t ps_tokens(const char *src, size_t len, Diags *d, Arena *arena, PsToken **out) {
  PsCtx ctx;
  memset(&ctx, 0, sizeof ctx);
  Ast dummy;
  memset(&dummy, 0, sizeof dummy);
  ctx.ast = &dummy;
  ctx.d = d;
  ctx.src = src;
  ctx.len = len;
  ctx.lex.d = d;
  ctx.lex.arena = arena;
  ctx.lex.line = 1;
  ctx.lex.col = 1;
  size_t n = 0, cap = 64;
  PsToken *v = arena_alloc(arena, cap * sizeof *v);
  lex_open(&ctx.lex, src, len, &ctx.scanner);
  for (;;) {
    PSY_STYPE val;
    PsLoc loc;
    memset(&val, 0, sizeof val);
    memset(&loc, 0, sizeof loc);
    int t = psy_lex(&val, &loc, &ctx);
    if (n == cap) {
      v = arena_grow(arena, v, sizeof *v, n, cap * 2);
      cap *= 2;
    }
    PsToken tok = { .kind = t, .span = sp(loc) };
    if (t == INT || t == DURATION || t == INT_MIN_LIT) tok.i = val.i;
    if (t == FLOAT) tok.f = val.f;
    if (t == IDENT) {
      tok.s = val.name;
      tok.len = strlen(val.name);
    }
    if (t == STRING || t == STR_BEGIN || t == STR_MID || t == STR_END) {
      tok.s = val.str->s;
      tok.len = val.str->len;
    }
    v[n++] = tok;
    if (t == 0) break;
  }
  lex_close(ctx.scanner);
  mem_free(ctx.lex.buf, ctx.lex.bcap);
  *out = v;
  return n;
}

const char *ps_token_name(int kind) {
  if (kind == 0) return "end of file";
  if (kind > 0 && kind < 256) {
    static char one[256][4];
    one[kind][0] = '\'';
    one[kind][1] = (char)kind;
    one[kind][2] = '\'';
    return one[kind];
  }
  return yysymbol_name(YYTRANSLATE(kind));
}

void ast_free(Ast *ast) {
  if (!ast) return;
  arena_free(&ast->arena);
  mem_free(ast, sizeof *ast);
}
