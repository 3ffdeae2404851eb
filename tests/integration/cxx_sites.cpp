// cxx_sites.cpp - allocation sites in C++ built the way programs ship
// (-O2, no frame pointers): every allocation is made by the standard
// library on behalf of one of the functions below, whose allocations the
// program counts itself (its operator new charges the function that is
// running on this thread). `ldprof report --by function` must put each
// count on that function, never on std::__new_allocator<...>::allocate or
// another piece of the library's plumbing. Writes "fn NAME allocations N".
//
// main ends with a std::thread, which makes GCC 12 end main's line
// sequence with a row at its very end, right before _start: the trap that
// gave _start a line of main's (symbols/symbolizer.c, unit_of).
//   usage: cxx_sites TRUTH_FILE
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

// The replacement operator new below calls malloc and its delete free: a
// pair GCC cannot see is matched.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

static const int NFN = 9;
static const char *const names[NFN] = {"fill_vector", "fill_map",   "fill_unordered", "share_widgets",
				       "concat",      "fill_deque", "main",           "worker", "Widget::named"};
static unsigned long counts[NFN];
static thread_local int running = -1; // the counted function running on this thread
static unsigned long uncounted;

struct Charge { // charges this thread's allocations to function i while it lives
	int prev;
	explicit Charge(int i) : prev(running) { running = i; }
	~Charge() { running = prev; }
};

void *operator new(std::size_t n)
{
	void *p = std::malloc(n ? n : 1);
	if (!p)
		throw std::bad_alloc();
	if (running >= 0)
		__atomic_add_fetch(&counts[running], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&uncounted, 1, __ATOMIC_RELAXED);
	return p;
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }

struct Widget {
	long id;
	std::string name;
	explicit Widget(long i) : id(i), name(named(i)) {}
	static std::string named(long i)
	{
		Charge c(8); // the program's own constructor: a site of its own
		return std::string(32, 'w') + std::to_string(i);
	}
};

__attribute__((noinline)) long fill_vector(int n)
{
	Charge c(0);
	std::vector<long> v;
	for (int i = 0; i < n; i++)
		v.push_back(i);
	return (long)v.size();
}

__attribute__((noinline)) long fill_map(int n)
{
	Charge c(1);
	std::map<std::string, int> m;
	for (int i = 0; i < n; i++)
		m[std::string("a key long enough to be on the heap ") + std::to_string(i)] = i;
	return (long)m.size();
}

__attribute__((noinline)) long fill_unordered(int n)
{
	Charge c(2);
	std::unordered_map<int, std::string> m;
	for (int i = 0; i < n; i++)
		m.emplace(i, std::string(40, 'u'));
	return (long)m.size();
}

__attribute__((noinline)) long share_widgets(int n)
{
	Charge c(3);
	std::vector<std::shared_ptr<Widget>> v;
	v.reserve(n);
	for (int i = 0; i < n; i++)
		v.push_back(std::make_shared<Widget>(i));
	return (long)v.size();
}

__attribute__((noinline)) long concat(int n)
{
	Charge c(4);
	std::string s;
	for (int i = 0; i < n; i++)
		s += std::to_string(i) + " and a tail to make it allocate ";
	return (long)s.size();
}

__attribute__((noinline)) long fill_deque(int n)
{
	Charge c(5);
	std::deque<long> d;
	std::list<long> l;
	for (int i = 0; i < n; i++) {
		d.push_front(i);
		l.push_back(i);
	}
	return (long)(d.size() + l.size());
}

__attribute__((noinline)) void worker(long *out)
{
	Charge c(7);
	std::vector<std::string> v;
	for (int i = 0; i < 300; i++)
		v.emplace_back(48, 'x');
	*out = (long)v.size();
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	long total = fill_vector(5000) + fill_map(400) + fill_unordered(300) + share_widgets(200) + concat(300) +
		     fill_deque(2000);
	{
		Charge c(6);
		long out = 0;
		std::thread t(worker, &out); // its state object is main's allocation
		t.join();
		total += out;
	}
	char buf[1024];
	int len = 0;
	for (int i = 0; i < NFN; i++)
		len += snprintf(buf + len, sizeof buf - len, "fn %s allocations %lu\n", names[i], counts[i]);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)len) != len)
		return 1;
	close(fd);
	std::printf("%ld\n", total);
	return 0;
}
