// h_cxx.cc - C++ under the agent.
//
// Exceptions thrown through frames that allocate (strings, vectors, maps),
// 2000 times, in the main thread and in 4 threads at once; std::bad_alloc
// from a huge new; thread_local objects whose destructors allocate after
// the agent's own thread-exit handling; and which object the program's
// _Unwind_RaiseException comes from (it must be libgcc_s: a preloaded
// libunwind would take over every exception of the program).
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static int check_failures;
#define EXPECT(cond, what)                                                                                   \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			std::fprintf(stderr, "check failed: %s\n", what);                                    \
			check_failures++;                                                                    \
		}                                                                                            \
	} while (0)

struct Node {
	std::string name;
	std::vector<int> data;
	explicit Node(int i) : name("node-" + std::to_string(i)), data(static_cast<size_t>(i % 50 + 1), i) {}
};

__attribute__((noinline)) static int level(int depth, int i)
{
	std::vector<Node> nodes;
	std::map<int, std::string> m;
	for (int k = 0; k < 3; k++) {
		nodes.emplace_back(depth * 100 + k);
		m[k] = std::string(static_cast<size_t>(20 + k), 'x');
	}
	if (depth == 0) {
		if (i % 3 == 0)
			throw std::runtime_error("thrown at the bottom, iteration " + std::to_string(i));
		return static_cast<int>(nodes.size());
	}
	return level(depth - 1, i) + static_cast<int>(m.size());
}

static long throw_many(int n)
{
	long caught = 0;
	for (int i = 0; i < n; i++) {
		try {
			level(10, i);
		} catch (const std::runtime_error &e) {
			if (std::strstr(e.what(), "thrown at the bottom"))
				caught++;
		}
	}
	return caught;
}

struct LateAllocator {
	std::vector<std::string> *log;
	~LateAllocator()
	{
		// Runs at thread exit, after the agent's own per-thread cleanup.
		std::vector<std::string> tmp(10, std::string(100, 'z'));
		log = new std::vector<std::string>(tmp);
		delete log;
	}
};

static thread_local LateAllocator late;

static void thread_body(long *out)
{
	late.log = nullptr; // construct the thread_local
	*out = throw_many(500);
}

int main()
{
	void *raise_fn = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
	Dl_info info;
	const char *who = "?";
	if (raise_fn && dladdr(raise_fn, &info) && info.dli_fname) {
		who = std::strrchr(info.dli_fname, '/') ? std::strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
	}
	std::printf("_Unwind_RaiseException from %s\n", who);
	EXPECT(std::strncmp(who, "libgcc_s", 8) == 0, "_Unwind_RaiseException must come from libgcc_s");

	long caught = throw_many(2000);
	std::printf("main thread: %ld exceptions caught through allocating frames\n", caught);
	EXPECT(caught == 667, "main thread exception count");

	long per[4] = {0, 0, 0, 0};
	std::vector<std::thread> ts;
	for (int t = 0; t < 4; t++)
		ts.emplace_back(thread_body, &per[t]);
	for (auto &t : ts)
		t.join();
	std::printf("threads: %ld %ld %ld %ld caught\n", per[0], per[1], per[2], per[3]);
	EXPECT(per[0] == 167 && per[3] == 167, "thread exception count");

	bool bad_alloc = false;
	try {
		volatile size_t huge = static_cast<size_t>(1) << 62;
		char *p = new char[huge];
		p[0] = 1;
		delete[] p;
	} catch (const std::bad_alloc &) {
		bad_alloc = true;
	}
	std::printf("new char[2^62]: %s\n", bad_alloc ? "std::bad_alloc" : "no exception");
	EXPECT(bad_alloc, "std::bad_alloc expected");
	return check_failures ? 99 : 0;
}
