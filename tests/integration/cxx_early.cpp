// cxx_early.cpp - a C++ program whose first allocations happen before the
// agent's constructor runs: libstdc++'s emergency exception pool (72 704
// bytes, made by libstdc++'s own constructor in every C++ program) and those
// of a library it is linked against (cxx_early_plugin.c). The trace must
// hold them, with their stacks, so that its totals and peak equal massif's
// (run.sh, cxx_massif). Sizes are multiples of 16 (no slop in valgrind's
// allocator) and output goes through write(2) (no stdio buffer).
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" void plugin_release(void);

static void say(const std::string &s)
{
	if (write(1, s.data(), s.size()) != (ssize_t)s.size())
		_exit(3);
}

__attribute__((noinline)) static long build(int n)
{
	std::vector<std::string> v; // 32-byte elements: capacities 1, 2, 4... x 32
	for (int i = 0; i < n; i++)
		v.push_back(std::string(31, (char)('a' + i % 26))); // 32-byte buffers
	std::map<int, long long> m; // 48-byte nodes
	for (int i = 0; i < n; i++)
		m[i] = (long long)v[(size_t)i].size();
	long sum = 0;
	for (auto &kv : m)
		sum += kv.second;
	return sum;
}

static char *volatile sink; // the compiler may not elide a new/delete pair whose block escapes

__attribute__((noinline)) static void spike(void)
{
	sink = new char[1 << 20]; // the peak
	memset(sink, 1, 1 << 20);
	delete[] sink;
}

int main()
{
	long sum = build(100);
	spike();
	try {
		throw std::runtime_error("thrown"); // __cxa_allocate_exception
	} catch (const std::exception &e) {
		say(std::string("caught ") + e.what() + "\n");
	}
	plugin_release();
	char *keep = new char[208]; // leaked
	keep[0] = 1;
	say("sum " + std::to_string(sum) + "\n");
	return 0;
}
