/* compiler/compile.c — read a source file and run the front end (compile.h). */
#include "compile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vm/mem.h"
#include "front.h"

int cp_read_file(const char *path, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return e;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return EISDIR;
  }
  /* The size is a hint only: pipes report 0, and a file may change. */
  size_t cap = 4096;
  if (S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX - 2)
    cap = (size_t)st.st_size + 2;   /* the NUL, and one byte to see the end */
  char *buf = mem_alloc(cap);
  size_t n = 0;
  int err = buf ? 0 : ENOMEM;
  while (!err) {
    if (n + 1 >= cap) {   /* keep room for the terminating NUL */
      size_t ncap = cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
      char *nb = ncap > cap ? mem_realloc(buf, cap, ncap) : NULL;
      if (!nb) {
        err = ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      err = errno;
    } else if (r == 0) {
      break;
    } else {
      n += (size_t)r;
    }
  }
  close(fd);
  if (err) {
    mem_free(buf, cap);
    return err;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

void cp_free_text(char *text) { mem_free(text, 0); }

bool cp_front(const char *name, const char *src, size_t len, Diags *d, Ast **out) {
  diag_init(d, name, src, len);
  Ast *ast = ps_parse(src, len, d);
  if (ast && d->errors == 0) ck_check(ast, d);
  if (out)
    *out = ast;
  else if (ast)
    ast_free(ast);
  return d->errors == 0;
}
