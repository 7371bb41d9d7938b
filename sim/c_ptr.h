// Owning handles for what the glue gets from C: a model made by its X_new (CPtr, freed by its
// X_free) and a file descriptor (Fd, closed). A constructor that throws after getting one (an
// unwritable capture, a thread that does not start) then gives it back without a try/catch.
#pragma once

#include <unistd.h>

#include <memory>

template <auto Free> struct CFree {
    template <class T> void operator()(T *p) const { Free(p); }
};
template <class T, auto Free> using CPtr = std::unique_ptr<T, CFree<Free>>;

class Fd {
public:
    Fd() = default;
    ~Fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    void reset(int fd) // takes fd (closing the one held)
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }
    int get() const { return fd_; }

private:
    int fd_ = -1;
};
