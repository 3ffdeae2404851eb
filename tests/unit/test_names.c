/*
 * test_names.c - how the reporter reads demangled names: the function a
 * name names (for the site-frame rules, model/group.c) and the short form
 * text views print (template arguments as "<...>").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "symbols/demangle.h"

static void qualified_is(const char *name, const char *want)
{
	size_t at, n = demangle_qualified(name, &at);
	char got[512];
	snprintf(got, sizeof got, "%.*s", (int)n, name + at);
	if (strcmp(got, want))
		fail_msg("demangle_qualified(\"%s\") = \"%s\", want \"%s\"", name, got, want);
}

static void test_qualified(void **state)
{
	(void)state;
	qualified_is("main", "main");
	qualified_is("fill_vector(int)", "fill_vector");
	qualified_is("std::vector<int, std::allocator<int> >::push_back(int const&)",
		     "std::vector<int, std::allocator<int> >::push_back");
	/* a template function: its return type goes */
	qualified_is("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		     "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
		     "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>");
	qualified_is("std::_Rb_tree_node<int>* std::_Rb_tree<int, int>::_M_create_node<int const&>(int const&)",
		     "std::_Rb_tree<int, int>::_M_create_node<int const&>");
	/* operators are names, spaces and brackets in them too */
	qualified_is("operator new(unsigned long)", "operator new");
	qualified_is("operator new[](unsigned long, std::nothrow_t const&)", "operator new[]");
	qualified_is("std::basic_ostream<char>& std::operator<< <std::char_traits<char> >(std::basic_ostream<char>&, char const*)",
		     "std::operator<< <std::char_traits<char> >");
	qualified_is("Matrix::operator()(int, int) const", "Matrix::operator()");
	qualified_is("bool operator<(Key const&, Key const&)", "operator<");
	qualified_is("Widget::operator bool() const", "Widget::operator bool");
	qualified_is("(anonymous namespace)::parse(char const*)", "(anonymous namespace)::parse");
	qualified_is("main::{lambda(int)#1}::operator()(int) const", "main::{lambda(int)#1}::operator()");
	qualified_is("fill_map[abi:cxx11](int)", "fill_map[abi:cxx11]");
	qualified_is("libc.so.6+0x1234", "libc.so.6+0x1234");
}

static void short_is(const char *name, const char *want)
{
	char buf[512];
	const char *got = demangle_short(name, buf, sizeof buf);
	if (strcmp(got, want))
		fail_msg("demangle_short(\"%s\") = \"%s\", want \"%s\"", name, got, want);
}

static void test_short(void **state)
{
	(void)state;
	short_is("fill_vector(int)", "fill_vector(int)");
	short_is("std::map<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, int>::operator[]"
		 "(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >&&)",
		 "std::map<...>::operator[](std::__cxx11::basic_string<...>&&)");
	short_is("std::__new_allocator<std::_Rb_tree_node<std::pair<int const, int> > >::allocate(unsigned long, void const*)",
		 "std::__new_allocator<...>::allocate(unsigned long, void const*)");
	short_is("bool operator< <int>(Box<int> const&, Box<int> const&)", "bool operator< <...>(Box<...> const&, Box<...> const&)");
	short_is("std::operator<<(std::ostream&, int)", "std::operator<<(std::ostream&, int)");
	/* a traceback key: " < " joins frames, it opens no template */
	short_is("f<int>(int) (a.cc:3) < main (a.cc:9)", "f<...>(int) (a.cc:3) < main (a.cc:9)");
	/* cut to the buffer, always terminated */
	char small[8];
	demangle_short("std::vector<int>::size() const", small, sizeof small);
	assert_string_equal(small, "std::ve");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qualified),
		cmocka_unit_test(test_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
